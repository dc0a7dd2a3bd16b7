/*
 * Leaks a world and a response on purpose: CTest expects LeakSanitizer to
 * report it, which proves the suite really runs under the sanitizer (and
 * that it sees allocations made inside libbrp).
 */

#include <brp.h>

#include <stdio.h>

int main(void) {
  brp_app *app = NULL;
  char *response = NULL;
  if (brp_app_new(NULL, &app) != BRP_STATUS_OK ||
      brp_request(app, "{\"id\": 1, \"request\": \"PING\"}", &response) != BRP_STATUS_OK) {
    return 1;
  }
  printf("%s\n", response);
  /* Forget both pointers so that nothing reaches the allocations. */
  app = NULL;
  response = NULL;
  return app != NULL || response != NULL;
}
