// Package notify answers uname(2) of 32-bit programs with a chosen machine
// name ("armv7l") through seccomp user notification, on a stock kernel.
//
// The model: in the LINUX32 personality an arm64 kernel says "armv8l" (an
// x86_64 kernel "i686"), and nothing but a patched kernel says "armv7l". A
// seccomp filter can hand chosen system calls to another process instead of
// running them (SECCOMP_RET_USER_NOTIF, Linux ≥ 5.0). So:
//
//  1. [Filter] is a classic-BPF program that sends uname, olduname and
//     oldolduname of the host's compat ABI ([CompatABI]: i386 on amd64, ARM
//     EABI on arm64) to the supervisor, matching seccomp_data.arch first so
//     that 64-bit programs are never touched, and allows everything else;
//  2. [Install] loads it on the calling thread with
//     SECCOMP_FILTER_FLAG_NEW_LISTENER, just before that thread execs the
//     command, and returns the listener: a file descriptor on which the
//     filter's notifications arrive. The filter is inherited by every
//     descendant and cannot be removed;
//  3. the listener travels to the supervisor over a Unix socket
//     ([SendFD], [RecvFD]: SCM_RIGHTS), and the installing process must
//     not keep a copy: a listener open in the command would outlive the
//     supervisor and leave uname blocked instead of failing;
//  4. [Serve] receives each notification, builds the caller's struct
//     ([Reply]: the supervisor's own uname with machine replaced), writes it
//     to the pointer the caller passed with process_vm_writev — which
//     fails with EFAULT where the kernel's copy would — and replies 0 or
//     the error. A notification that is not a 32-bit uname (a container
//     profile may route the 64-bit one too) is performed by the kernel as
//     if not intercepted. It returns when no process uses the filter any
//     more.
//
// When the supervisor is gone (its listener closed), the kernel answers the
// intercepted calls with ENOSYS: uname fails loudly, it never hangs.
package notify
