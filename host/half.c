#include "host/half.h"

#include <string.h>

static uint32_t float_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t vkl_f32_to_f16(float value)
{
    uint32_t u = float_bits(value);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exp = (u >> 23) & 0xFFu, mant = u & 0x7FFFFFu;
    if (exp == 0xFF) return sign | 0x7C00u | (mant ? 0x200u | (uint16_t)(mant >> 13) : 0u);  // inf, NaN
    int e = (int)exp - 127 + 15;
    if (e >= 31) return sign | 0x7C00u;  // overflow to infinity
    if (e <= 0) {
        if (e < -10) return sign;  // below half the smallest subnormal: rounds to zero
        mant |= 0x800000u;         // implicit bit, then shift into subnormal position
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1u), mid = 1u << (shift - 1u);
        if (rest > mid || (rest == mid && (half & 1u))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13), rest = mant & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) half++;  // may carry into inf: correct
    return sign | (uint16_t)half;
}

float vkl_f16_to_f32(uint16_t bits)
{
    uint32_t sign = (uint32_t)(bits & 0x8000u) << 16, exp = (bits >> 10) & 0x1Fu, mant = bits & 0x3FFu;
    if (exp == 0x1F) return bits_float(sign | 0x7F800000u | (mant << 13));
    if (exp == 0) {
        float magnitude = (float)mant * 0x1p-24f;  // subnormal: mant * 2^-24, exact in f32
        return sign ? -magnitude : magnitude;
    }
    return bits_float(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}
