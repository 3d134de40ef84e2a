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

/// Whether `subject` matches (the JIT is used when it compiled). Subjects are valid UTF-8
/// already (Sluice repairs input), so the UTF check is skipped.
static inline int sluice_pcre2_matches(const pcre2_code_8 *code, const void *subject, size_t length, pcre2_match_data_8 *data) {
    return pcre2_match_8(code, (PCRE2_SPTR8)subject, length, 0, PCRE2_NO_UTF_CHECK, data, NULL) >= 0;
}

/// The first match of `code` in `subject` at or after `start`: its bounds in `match_start` and
/// `match_end`; returns 0 when there is none.
static inline int sluice_pcre2_find(const pcre2_code_8 *code, const void *subject, size_t length, size_t start,
                                    pcre2_match_data_8 *data, size_t *match_start, size_t *match_end) {
    if (pcre2_match_8(code, (PCRE2_SPTR8)subject, length, start, PCRE2_NO_UTF_CHECK, data, NULL) < 0) return 0;
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
