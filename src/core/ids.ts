const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A replica id, or a version-vector key in its place: 8 base32 characters from 8 random bytes
 * (40 bits against collisions), short enough for conflict-copy names. The caller brings the
 * randomness (core does no I/O).
 */
export function idFromRandom(random: Uint8Array): string {
  return [...random.subarray(0, 8)].map((b) => ALPHABET[b & 31]).join('');
}
