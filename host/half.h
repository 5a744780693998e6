// IEEE 754 binary16 conversions, round to nearest even, in portable C.
#ifndef VKLLM_HALF_H
#define VKLLM_HALF_H

#include <stdint.h>

uint16_t vkl_f32_to_f16(float value);
float vkl_f16_to_f32(uint16_t bits);

#endif
