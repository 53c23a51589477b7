package main

// Placeholder until the docker CLI wrapper (issue 5) lands; its owner replaces this file.
func dockerMain(args []string) int { return notYet("docker") }
