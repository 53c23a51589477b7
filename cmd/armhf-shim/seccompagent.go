package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/uname/notify"
	"github.com/armhf-shim/armhf-shim/uname/notify/agent"
)

func seccompAgentCommand() *cli.Command {
	return &cli.Command{
		Name:  "seccomp-agent",
		Usage: "answer containers' 32-bit uname with a chosen machine (runc's linux.seccomp.listenerPath agent)",
		Description: "Listens on --socket for OCI runtimes (runc >= 1.1, crun) handing over a container's seccomp\n" +
			"listener (linux.seccomp.listenerPath), and answers the 32-bit uname calls its profile sends\n" +
			"there (SCMP_ACT_NOTIFY) with the machine named by linux.seccomp.listenerMetadata, the annotation\n" +
			"io.armhf-shim.machine, or --machine. Each container is served until its last process exits.\n" +
			"If the agent is not running, runc cannot create such a container; if it stops, the containers'\n" +
			"uname fails with ENOSYS. With --lxc-socket it also serves liblxc's seccomp proxy protocol there\n" +
			"(lxc.seccomp.notify.proxy, the machine in lxc.seccomp.notify.cookie: armhf-lxc create --machine).\n" +
			"Logs go to stderr. Started by systemd socket activation (LISTEN_FDS, the armhf-shim-seccomp-agent\n" +
			".socket unit of `armhf-shim install seccomp-agent`) it serves the sockets systemd passes (a stream\n" +
			"socket for runc, a sequential-packet one for LXC) and ignores --socket and --lxc-socket. Under\n" +
			"systemd (NOTIFY_SOCKET) it keeps the listeners it serves in systemd's file descriptor store\n" +
			"(FileDescriptorStoreMax=), and serves those systemd passes back when it restarts.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "socket", Usage: "the Unix socket to listen on, mode 0600 (default: the runtime wrapper's, \"seccompAgent\" in its config file, else " + runtimecfg.DefaultSeccompAgent + ")"},
			&cli.StringFlag{Name: "lxc-socket", Usage: "also listen here for liblxc's seccomp proxy (SOCK_SEQPACKET, mode 0600; armhf-lxc's default: " + agent.DefaultLXCSocket + ")"},
			&cli.StringFlag{Name: "machine", Value: "armv7l", Usage: "the machine when the container names none"},
			&cli.IntFlag{Name: "max", Value: 1024, Usage: "most containers served at once"},
		},
		Action: func(c *cli.Context) error {
			if err := notify.CheckMachine(c.String("machine")); err != nil {
				return cli.Exit("seccomp-agent: --machine: "+err.Error(), 2)
			}
			abi, ok := notify.CompatABI(runtime.GOARCH)
			if !ok {
				return cli.Exit(fmt.Sprintf("seccomp-agent: no 32-bit compat ABI on %s", runtime.GOARCH), 1)
			}
			if err := notify.Available(); err != nil {
				return cli.Exit("seccomp-agent: "+err.Error(), 1)
			}
			ln, lxcLn, stored, err := agent.ActivatedListeners()
			if err == nil && ln == nil && lxcLn == nil {
				var sock string
				if sock, err = agentSocket(c.String("socket"), os.Getenv); err == nil {
					ln, err = listenAgent("unix", sock)
				}
				if err == nil && c.String("lxc-socket") != "" {
					if lxcLn, err = listenAgent("unixpacket", c.String("lxc-socket")); err != nil {
						ln.Close()
					}
				}
			}
			if err != nil {
				return cli.Exit("seccomp-agent: "+err.Error(), 1)
			}
			a := &agent.Agent{ABI: abi, Machine: c.String("machine"), Max: c.Int("max"), Logf: func(format string, args ...any) {
				fmt.Fprintf(os.Stderr, "armhf-shim seccomp-agent: "+format+"\n", args...)
			}}
			// Under systemd the listeners served outlive the agent in its file
			// descriptor store (FileDescriptorStoreMax= in the unit).
			a.Store = agent.NewFDStore(os.Getenv("NOTIFY_SOCKET"))
			a.ServeStored(stored)
			var serving []func() error
			if ln != nil {
				serving = append(serving, func() error { return a.Serve(ln) })
			}
			if lxcLn != nil {
				serving = append(serving, func() error { return a.ServeLXC(lxcLn) })
			}
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			go func() {
				<-sigs
				for _, l := range []*net.UnixListener{ln, lxcLn} {
					if l != nil {
						l.Close()
					}
				}
			}()
			errs := make(chan error, len(serving))
			for _, serve := range serving {
				go func() { errs <- serve() }()
			}
			for range serving {
				if err := <-errs; err != nil {
					return cli.Exit("seccomp-agent: "+err.Error(), 1)
				}
			}
			a.Stop()
			return nil
		},
	}
}

// agentSocket is the socket to listen on: flag, else where the runtime
// wrapper points listenerPath (its config file, read as the wrapper reads
// it), else the default. A config file the wrapper cannot read is an
// error: falling back to the default would listen where the wrapper does
// not look.
func agentSocket(flag string, getenv func(string) string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	cfg, err := runtimecfg.Load(runcargs.Shim{}, getenv)
	if err != nil {
		return "", fmt.Errorf("%w (fix it, or name the socket with --socket)", err)
	}
	return cfg.SeccompAgent(), nil
}

// listenAgent listens on the Unix socket path, replacing a stale socket
// but never another kind of file, readable and writable by root only: a
// client could otherwise take the agent's slots.
func listenAgent(network, path string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.Dial(network, path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another agent is listening on it", path)
		}
		os.Remove(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix(network, &net.UnixAddr{Name: path, Net: network})
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}
