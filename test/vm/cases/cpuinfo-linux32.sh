# /proc/cpuinfo in the LINUX32 personality without armhf-shim: the kernel's
# own 32-bit view, which still says "CPU architecture: 8".
exec linux32 cat /proc/cpuinfo
