package main

// Placeholder until the runtime wrapper (issue 4) lands; its owner replaces this file.
func runtimeMain(args []string) int { return notYet("runtime") }
