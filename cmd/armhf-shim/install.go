package main

import "github.com/urfave/cli/v2"

// Placeholder until install/uninstall (issue 4) land; their owner replaces this file.
func installCommand() *cli.Command   { return &cli.Command{Name: "install", Hidden: true} }
func uninstallCommand() *cli.Command { return &cli.Command{Name: "uninstall", Hidden: true} }
