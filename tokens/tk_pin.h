/* SPDX-License-Identifier: Apache-2.0 */
/* Where sealgate-token gets PINs: a file (not group/world readable), the
 * environment, or a no-echo prompt on the terminal. Never argv. */
#ifndef TK_PIN_H
#define TK_PIN_H

/* Get a PIN: from file when not NULL, else from environment variable
 * env_name (which is then removed from the environment), else by
 * prompting on /dev/tty (twice when confirm is set). *pinp is new; free
 * with sg_free_secret_str. On failure *why gets a static reason. */
int tk_pin_get(const char *file, const char *env_name, const char *prompt, int confirm,
    char **pinp, const char **why);

#endif
