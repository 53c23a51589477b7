package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The shell completion scripts ask armhf-shim itself for the candidates
// (urfave/cli's --generate-bash-completion), so they never go stale when a
// command or flag is added. The bash and zsh scripts are urfave/cli
// v2.27.7's autocomplete/ scripts with the program name filled in (zsh's as
// an autoloaded #compdef function, the form a completion directory needs);
// fish's is generated from the command tree.

const bashCompletion = `# bash completion for armhf-shim (armhf-shim completion bash)
_armhf_shim_init_completion() {
  COMPREPLY=()
  _get_comp_words_by_ref "$@" cur prev words cword
}

_armhf_shim_complete() {
  local cur opts words cword requestComp
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n "=:" || return
  else
    _armhf_shim_init_completion -n "=:" || return
  fi
  words=("${words[@]:0:$cword}")
  if [[ "$cur" == "-"* ]]; then
    requestComp="${words[*]} ${cur} --generate-bash-completion"
  else
    requestComp="${words[*]} --generate-bash-completion"
  fi
  opts=$(eval "${requestComp}" 2>/dev/null)
  COMPREPLY=($(compgen -W "${opts}" -- ${cur}))
  return 0
}

complete -o bashdefault -o default -o nospace -F _armhf_shim_complete armhf-shim
`

const zshCompletion = `#compdef armhf-shim
# zsh completion for armhf-shim (armhf-shim completion zsh)
local -a opts
local cur
cur=${words[-1]}
if [[ "$cur" == "-"* ]]; then
  opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
else
  opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
fi
if [[ "${opts[1]}" != "" ]]; then
  _describe 'values' opts
else
  _files
fi
`

// completionCommand is `armhf-shim completion bash|zsh|fish`.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (the packages install them)",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash: source it, or put it in /usr/share/bash-completion/completions/armhf-shim;\n" +
			"zsh: put it in a directory of $fpath as _armhf-shim; fish: in ~/.config/fish/completions/armhf-shim.fish.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("completion: name one shell: bash, zsh or fish", 2)
			}
			switch sh := c.Args().First(); sh {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return cli.Exit("completion fish: "+err.Error(), 1)
				}
				fmt.Fprint(c.App.Writer, s)
			default:
				return cli.Exit(fmt.Sprintf("completion: unknown shell %q: want bash, zsh or fish", sh), 2)
			}
			return nil
		},
	}
}
