/*
 * The parent of one lab host's daemons. It marks itself a child subreaper, so every daemon that
 * double-forks (virtlogd -d, libvirtd -d, sshd, and the QEMU processes libvirt daemonizes) is reparented
 * here instead of to PID 1, and reaps them the moment they exit. PID 1 on this machine reaps orphans
 * only every ~1.5-2 s, and libvirt waits for each QEMU exit, so without this every destroy, probe and
 * migration gets ~2 s slower.
 *
 * Usage: subreaper PIDFILE CMD [ARG...]
 * Writes its own PID to PIDFILE, runs CMD once (the host's init script), then keeps reaping until it
 * receives SIGTERM, SIGINT or SIGHUP. It keeps the host's mount namespace alive while it lives.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PIDFILE CMD [ARG...]\n", argv[0]);
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    perror("prctl(PR_SET_CHILD_SUBREAPER)");
    return 1;
  }

  sigset_t watched;
  sigemptyset(&watched);
  sigaddset(&watched, SIGCHLD);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGINT);
  sigaddset(&watched, SIGHUP);
  sigprocmask(SIG_BLOCK, &watched, NULL);

  FILE *pidfile = fopen(argv[1], "w");
  if (pidfile == NULL) {
    perror(argv[1]);
    return 1;
  }
  fprintf(pidfile, "%d\n", (int)getpid());
  fclose(pidfile);

  pid_t init = fork();
  if (init < 0) {
    perror("fork");
    return 1;
  }
  if (init == 0) {
    sigprocmask(SIG_UNBLOCK, &watched, NULL);
    execvp(argv[2], &argv[2]);
    perror(argv[2]);
    _exit(127);
  }

  int init_status = -1;
  for (;;) {
    int sig = sigwaitinfo(&watched, NULL);
    if (sig < 0) {
      if (errno == EINTR) continue;
      perror("sigwaitinfo");
      return 1;
    }
    if (sig != SIGCHLD) {
      fprintf(stderr, "subreaper %d: signal %d, exiting\n", (int)getpid(), sig);
      return 0;
    }
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid == init) {
        init_status = status;
        if (!WIFEXITED(init_status) || WEXITSTATUS(init_status) != 0) {
          fprintf(stderr, "subreaper %d: init script failed (status %d)\n", (int)getpid(), init_status);
        }
      }
    }
  }
}
