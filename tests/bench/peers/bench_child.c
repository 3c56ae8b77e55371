/* bench-child: the supervised program of the peer benchmark, as small as a daemon gets.
 *
 *   bench-child [NAME]
 *
 * At start it tells the benchmark (BENCH_SOCKET, a datagram socket) "hello NAME PID
 * VMLCK_KB", read from its own /proc/self/status: the benchmark times "running" and
 * "locked" by these datagrams, the same way for every supervisor, instead of polling each
 * one's status (which would cost the supervisors differently). Without NAME (runit and s6
 * run ./run with no arguments), the name is the service directory it runs in. Then it says
 * READY=1 on NOTIFY_SOCKET (mlock-supervisor, systemd) and writes a newline to the file
 * descriptor BENCH_NOTIFY_FD (s6's notification-fd), and sleeps in pause() until a signal
 * ends it. C, no libstdc++: a locked child pins what it maps, and the figure is about the
 * supervisor, not the child. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static long vmlck_kb(void) {
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmLck:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

static void send_to(const char* path, const char* text) {
  if (!path || !*path) return;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return;
  strcpy(addr.sun_path, path);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  /* Blocking: when 1,000 children start at once the reader's queue fills; waiting for room
   * beats losing a hello (the benchmark would wait for it until its deadline). */
  sendto(fd, text, strlen(text), 0, (struct sockaddr*)&addr, sizeof addr);
  close(fd);
}

static const char* own_name(int argc, char** argv, char* buf, size_t size) {
  if (argc > 1) return argv[1];
  if (!getcwd(buf, size)) return "?";
  const char* slash = strrchr(buf, '/');
  return slash ? slash + 1 : buf;
}

int main(int argc, char** argv) {
  char cwd[4096];
  const char* name = own_name(argc, argv, cwd, sizeof cwd);
  char hello[512];
  /* Names are at most 64 characters (the daemon's limit): %.200s only silences -Wformat. */
  snprintf(hello, sizeof hello, "hello %.200s %ld %ld", name, (long)getpid(), vmlck_kb());
  send_to(getenv("BENCH_SOCKET"), hello);
  send_to(getenv("NOTIFY_SOCKET"), "READY=1");
  const char* notify_fd = getenv("BENCH_NOTIFY_FD");
  if (notify_fd) {
    int fd = atoi(notify_fd);
    if (write(fd, "\n", 1) == 1) close(fd);
  }
  for (;;) pause();
}
