/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib.h>

#ifndef _CAIRN_EXTERN
#define _CAIRN_EXTERN __attribute__((visibility ("default"))) extern
#endif

/**
 * CAIRN_AVAILABLE_IN_ALL:
 *
 * Marks a symbol exported by libcairn in every version.
 *
 * Since: 0.1
 */
#define CAIRN_AVAILABLE_IN_ALL _CAIRN_EXTERN
