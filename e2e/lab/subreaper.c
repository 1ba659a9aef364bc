/*
 * The parent of one lab host's daemons. It marks itself a child subreaper, so every daemon that
 * double-forks (virtlogd -d, libvirtd -d, sshd, and the QEMU processes libvirt daemonizes) is reparented
 * here instead of to PID 1, and reaps them the moment they exit. PID 1 on this machine reaps orphans
 * only every ~1.5-2 s, and libvirt waits for each QEMU exit, so without this every destroy, probe and
 * migration gets ~2 s slower.
 *
 * Usage: subreaper PIDFILE CMD [ARG...]
 * Writes its own PID to PIDFILE, runs CMD (the host's init script), then keeps reaping until it receives
 * SIGTERM, SIGINT or SIGHUP. SIGUSR1 runs CMD again with FERRY_LAB_HEAL=1 in its environment, so a daemon
 * stopped on purpose (a "destination libvirtd down" test) is restarted as this process's child, inside
 * the host's namespaces. It keeps the host's mount namespace alive while it lives.
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

static pid_t run_init(char **cmd, const sigset_t *watched, int heal) {
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return -1;
  }
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, watched, NULL);
    if (heal) setenv("FERRY_LAB_HEAL", "1", 1);
    execvp(cmd[0], cmd);
    perror(cmd[0]);
    _exit(127);
  }
  return pid;
}

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
  sigaddset(&watched, SIGUSR1);
  sigprocmask(SIG_BLOCK, &watched, NULL);

  FILE *pidfile = fopen(argv[1], "w");
  if (pidfile == NULL) {
    perror(argv[1]);
    return 1;
  }
  fprintf(pidfile, "%d\n", (int)getpid());
  fclose(pidfile);

  pid_t init = run_init(&argv[2], &watched, 0);
  if (init < 0) return 1;

  for (;;) {
    int sig = sigwaitinfo(&watched, NULL);
    if (sig < 0) {
      if (errno == EINTR) continue;
      perror("sigwaitinfo");
      return 1;
    }
    if (sig == SIGUSR1) {
      pid_t heal = run_init(&argv[2], &watched, 1);
      if (heal > 0) init = heal;
      continue;
    }
    if (sig != SIGCHLD) {
      fprintf(stderr, "subreaper %d: signal %d, exiting\n", (int)getpid(), sig);
      return 0;
    }
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid == init && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        fprintf(stderr, "subreaper %d: init script failed (status %d)\n", (int)getpid(), status);
      }
    }
  }
}
