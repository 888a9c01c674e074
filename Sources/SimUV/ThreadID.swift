import CLibUV

/// The kernel's id of the calling thread (`gettid`), e.g. for a cgroup v1 `tasks` file.
package func currentThreadID() -> Int32 { clibuv_gettid() }
