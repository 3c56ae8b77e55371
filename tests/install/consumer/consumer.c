#include <duende/mlock.h>
#include <stdio.h>

int main(void) {
  duende_mlock_config config;
  duende_mlock_config_init(&config);
  config.required = false;
  duende_mlock_status status;
  if (duende_mlock_lock_with_config(&config, &status) != 0) return 1;
  char text[64];
  duende_mlock_status_format(&status, text, sizeof text);
  printf("consumer_c: %s\n", text);
  return status.state == DUENDE_MLOCK_LOCKED && duende_mlock_locked_bytes() > 0 ? 0 : 2;
}
