# /proc/cpuinfo as an arm64 process sees it (the kernel's 64-bit view).
exec cat /proc/cpuinfo
