#ifndef SLUICE_JSON_BITS_H
#define SLUICE_JSON_BITS_H

// The bytes of a 64-byte block of a line that a JSON scanner must find, one bit per byte (bit i
// is byte i): quotes, backslashes and control characters (below 0x20). Sixteen bytes at a time
// with SSE2, which every x86-64 has; a plain loop elsewhere. Header-only so that Swift inlines
// it into the scanner's loop.

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    uint64_t quotes;
    uint64_t backslashes;
    uint64_t controls;
} sluice_json_block_bits;

static inline __attribute__((always_inline)) sluice_json_block_bits sluice_json_block(const uint8_t *block) {
    sluice_json_block_bits bits = {0, 0, 0};
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i lastControl = _mm_set1_epi8(0x1F);
    for (int part = 0; part < 4; part++) {
        const __m128i bytes = _mm_loadu_si128((const __m128i *)(block + 16 * part));
        const int shift = 16 * part;
        bits.quotes |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, quote)) << shift;
        bits.backslashes |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, backslash)) << shift;
        // Unsigned byte <= 0x1F exactly when min(byte, 0x1F) is the byte.
        bits.controls |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(bytes, lastControl), bytes)) << shift;
    }
#else
    for (int i = 0; i < 64; i++) {
        const uint8_t byte = block[i];
        bits.quotes |= (uint64_t)(byte == '"') << i;
        bits.backslashes |= (uint64_t)(byte == '\\') << i;
        bits.controls |= (uint64_t)(byte < 0x20) << i;
    }
#endif
    return bits;
}

#endif
