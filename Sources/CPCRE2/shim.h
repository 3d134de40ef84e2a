#ifndef SLUICE_CPCRE2_SHIM_H
#define SLUICE_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

/// Compiles `pattern` (UTF-8, `length` bytes) and JIT-compiles it when the platform allows.
/// On failure returns NULL and fills `error` (a message) and `offset` (where in the pattern).
static inline pcre2_code_8 *sluice_pcre2_compile(const char *pattern, size_t length, uint32_t options,
                                                 char *error, size_t error_size, size_t *offset) {
    int code = 0;
    PCRE2_SIZE at = 0;
    pcre2_code_8 *compiled = pcre2_compile_8((PCRE2_SPTR8)pattern, length, options | PCRE2_UTF, &code, &at, NULL);
    if (compiled == NULL) {
        pcre2_get_error_message_8(code, (PCRE2_UCHAR8 *)error, error_size);
        *offset = at;
        return NULL;
    }
    pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE);
    return compiled;
}

/// A match context that stops a match after `match_limit` steps (PCRE2 counts backtracking
/// steps, the JIT included): how long one regex may take on one subject. Read-only once made,
/// so one context serves every thread.
static inline pcre2_match_context_8 *sluice_pcre2_match_context(uint32_t match_limit) {
    pcre2_match_context_8 *context = pcre2_match_context_create_8(NULL);
    if (context != NULL) pcre2_set_match_limit_8(context, match_limit);
    return context;
}

/// Whether `subject` matches: 1 yes, 0 no, -1 the match could not finish (a limit of
/// `context`). The JIT is used when it compiled. Subjects are valid UTF-8 already (Sluice
/// repairs input), so the UTF check is skipped.
static inline int sluice_pcre2_matches(const pcre2_code_8 *code, const void *subject, size_t length, pcre2_match_data_8 *data,
                                       pcre2_match_context_8 *context) {
    int result = pcre2_match_8(code, (PCRE2_SPTR8)subject, length, 0, PCRE2_NO_UTF_CHECK, data, context);
    return result >= 0 ? 1 : result == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/// The first match of `code` in `subject` at or after `start`: its bounds in `match_start` and
/// `match_end`; returns 1 when found, 0 when there is none, -1 when the match could not finish.
static inline int sluice_pcre2_find(const pcre2_code_8 *code, const void *subject, size_t length, size_t start,
                                    pcre2_match_data_8 *data, pcre2_match_context_8 *context, size_t *match_start, size_t *match_end) {
    int result = pcre2_match_8(code, (PCRE2_SPTR8)subject, length, start, PCRE2_NO_UTF_CHECK, data, context);
    if (result < 0) return result == PCRE2_ERROR_NOMATCH ? 0 : -1;
    PCRE2_SIZE *vector = pcre2_get_ovector_pointer_8(data);
    *match_start = vector[0];
    *match_end = vector[1];
    return 1;
}

void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);

/// memmem, which the Glibc module does not export.
static inline const void *sluice_memmem(const void *haystack, size_t length, const void *needle, size_t needle_length) {
    return memmem(haystack, length, needle, needle_length);
}
#endif
