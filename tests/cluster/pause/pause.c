/*
 * The sandbox ("pause") process of the dev cluster's real node: it holds a pod's namespaces
 * open, reaps orphaned children (it is PID 1 of the pod when the PID namespace is shared) and
 * exits on SIGTERM or SIGINT. Built statically by tests/cluster/build.sh, so the image needs
 * no base image and nothing is pulled.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signal) {
  (void)signal;
  _exit(0);
}

static void reap(int signal) {
  (void)signal;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction on_stop = {.sa_handler = stop};
  struct sigaction on_child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  if (sigaction(SIGTERM, &on_stop, NULL) || sigaction(SIGINT, &on_stop, NULL) ||
      sigaction(SIGCHLD, &on_child, NULL)) {
    return 1;
  }
  for (;;) {
    pause();
  }
}
