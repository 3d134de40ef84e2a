#ifndef SLUICE_TEXT_BITS_H
#define SLUICE_TEXT_BITS_H

// Byte-class spans for the per-line scans of plain text (level guessing, trace detection):
// sixteen bytes at a time with SSE2, which every x86-64 has; a plain loop elsewhere. Header-only
// so that Swift inlines them.

#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// Whether `byte` is one of what log-line prefixes are made of besides letters: tab, space and
// `#()*+,-./0123456789:<=>`, and `T`, `Z` (ISO 8601 times), `[]{|}`.
static inline __attribute__((always_inline)) int sluice_is_prefix_byte(uint8_t byte) {
    static const uint64_t low = 0x77FFFF0900000200ULL;   // one bit per byte below 64
    static const uint64_t high = 0x380000002C100000ULL;  // one bit per byte from 64 to 127
    return byte < 64 ? (int)((low >> byte) & 1) : byte < 128 ? (int)((high >> (byte - 64)) & 1) : 0;
}

#if defined(__SSE2__)
// Lanes of `bytes` in [first, last] (unsigned): subtracting `first` maps the range onto
// [0, last - first], and a saturating subtraction of that width leaves zero only there.
static inline __attribute__((always_inline)) __m128i sluice_in_range(__m128i bytes, uint8_t first, uint8_t last) {
    const __m128i shifted = _mm_sub_epi8(bytes, _mm_set1_epi8((char)first));
    return _mm_cmpeq_epi8(_mm_subs_epu8(shifted, _mm_set1_epi8((char)(last - first))), _mm_setzero_si128());
}
#endif

// How many bytes from the start of `bytes` are prefix bytes (see sluice_is_prefix_byte).
static inline __attribute__((always_inline)) size_t sluice_prefix_span(const uint8_t *bytes, size_t count) {
    size_t index = 0;
#if defined(__SSE2__)
    while (index + 16 <= count) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(bytes + index));
        __m128i ok = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), _mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('#')));
        ok = _mm_or_si128(ok, sluice_in_range(v, '(', ':'));
        ok = _mm_or_si128(ok, sluice_in_range(v, '<', '>'));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('T')));
        ok = _mm_or_si128(ok, sluice_in_range(v, 'Z', '['));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8(']')));
        ok = _mm_or_si128(ok, sluice_in_range(v, '{', '}'));
        const unsigned mask = (unsigned)_mm_movemask_epi8(ok);
        if (mask != 0xFFFF) return index + (size_t)__builtin_ctz(~mask);
        index += 16;
    }
#endif
    while (index < count && sluice_is_prefix_byte(bytes[index])) index++;
    return index;
}

// The index of the first blank (space or tab) in `bytes`, or `count`.
static inline __attribute__((always_inline)) size_t sluice_word_end(const uint8_t *bytes, size_t count) {
    size_t index = 0;
#if defined(__SSE2__)
    while (index + 16 <= count) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(bytes + index));
        const __m128i blank = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
        const unsigned mask = (unsigned)_mm_movemask_epi8(blank);
        if (mask != 0) return index + (size_t)__builtin_ctz(mask);
        index += 16;
    }
#endif
    while (index < count && bytes[index] != ' ' && bytes[index] != '\t') index++;
    return index;
}

#endif
