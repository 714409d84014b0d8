/* SPDX-License-Identifier: Apache-2.0 */
/* The auditor's console (gateway/console/) as bytes, compiled in at build
 * time (the generated console_files.c, from scripts/embed-file). */
#ifndef GW_CONSOLE_FILES_H
#define GW_CONSOLE_FILES_H

#include <stddef.h>

extern const unsigned char gw_console_html[];
extern const size_t gw_console_html_len;
extern const unsigned char gw_console_css[];
extern const size_t gw_console_css_len;
extern const unsigned char gw_console_js[];
extern const size_t gw_console_js_len;

#endif
