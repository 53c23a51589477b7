package main

// Placeholder until the OCI hook (issue 4) lands; its owner replaces this file.
func hookMain(args []string) int { return notYet("hook") }
