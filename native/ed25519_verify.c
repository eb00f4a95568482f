/*
 * egress-verify: a fast, variable-time Ed25519 *verifier* for a pinned key.
 *
 * Why this exists: nearly every receipt in a chain is signed by one key, and
 * node:crypto (OpenSSL) spends most of a verification on a generic double
 * scalar multiplication. With a table precomputed once per key, [S]B - [k]A
 * costs ~128 mixed additions and 4 doublings instead of ~250 doublings.
 *
 * Everything here operates on public data (keys, messages, signatures), so
 * nothing needs to be constant time: tables are indexed directly and loops
 * skip zero digits.
 *
 * Semantics follow RFC 8032 §5.1.7 in its cofactorless form, exactly as
 * OpenSSL 3's ossl_ed25519_verify does it:
 *   - reject S >= L;
 *   - k = SHA-512(R || A || M) mod L, with A the 32 key bytes as given;
 *   - accept iff encode([S]B - [k]A) == R byte for byte.
 * Keys are decoded more strictly than OpenSSL does (non-canonical y, x = 0
 * with the sign bit set, and small-order points are refused by prepareKey);
 * callers fall back to node:crypto for those, so the union behaves like
 * OpenSSL everywhere.
 *
 * Written from the mathematics: the curve -x^2 + y^2 = 1 + d x^2 y^2 over
 * GF(2^255 - 19) with d = -121665/121666 (RFC 8032 §5.1), the extended
 * coordinates and unified formulas of Hisil, Wong, Carter and Dawson
 * ("Twisted Edwards curves revisited", 2008), and SHA-512 from FIPS 180-4.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !(defined(__x86_64__) || defined(__aarch64__)) || !defined(__SIZEOF_INT128__)
#error "egress-verify's native Ed25519 verifier needs x86_64 or aarch64 with unsigned __int128; node:crypto is used instead"
#endif

typedef uint64_t u64;
typedef unsigned __int128 u128;

/* ------------------------------------------------------------------------ */
/* Little-endian loads and stores, written bytewise so they are independent  */
/* of the host's byte order and alignment (compilers fold them into one     */
/* load or store).                                                           */
/* ------------------------------------------------------------------------ */

static inline u64 load_le64(const uint8_t *p) {
  return (u64)p[0] | ((u64)p[1] << 8) | ((u64)p[2] << 16) | ((u64)p[3] << 24) | ((u64)p[4] << 32) |
         ((u64)p[5] << 40) | ((u64)p[6] << 48) | ((u64)p[7] << 56);
}

static inline void store_le64(uint8_t *p, u64 v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline u64 load_be64(const uint8_t *p) {
  return ((u64)p[0] << 56) | ((u64)p[1] << 48) | ((u64)p[2] << 40) | ((u64)p[3] << 32) | ((u64)p[4] << 24) |
         ((u64)p[5] << 16) | ((u64)p[6] << 8) | (u64)p[7];
}

static inline void store_be64(uint8_t *p, u64 v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* ======================================================================== */
/* SHA-512 (FIPS 180-4). Our own implementation, so the addon depends on    */
/* nothing but the Node-API headers and is safe to call from pool threads.  */
/* ======================================================================== */

/*
 * Initial hash value (§5.3.5): the first 64 bits of the fractional parts of
 * the square roots of the first 8 primes. Round constants (§4.2.3): the
 * first 64 bits of the fractional parts of the cube roots of the first 80
 * primes. Both were derived with exact integer roots (floor(root(p << 128))
 * and floor(cbrt(p << 192)), mod 2^64); the tests compare the digest with
 * node:crypto's across many lengths.
 */
static const u64 SHA512_IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const u64 SHA512_K[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

typedef struct {
  u64 state[8];
  uint8_t buf[128]; /* pending partial block */
  size_t buf_len;   /* bytes in buf, always < 128 between calls */
  u64 total;        /* message bytes so far; 2^64 bytes is far beyond any input here */
} sha512_ctx;

static inline u64 rotr64(u64 x, unsigned n) { return (x >> n) | (x << (64 - n)); }

/* One compression of the 1024-bit block at p into the state (§6.4.2). */
static void sha512_block(u64 st[8], const uint8_t *p) {
  u64 w[80];
  for (int t = 0; t < 16; t++) w[t] = load_be64(p + 8 * t);
  for (int t = 16; t < 80; t++) {
    u64 s0 = rotr64(w[t - 15], 1) ^ rotr64(w[t - 15], 8) ^ (w[t - 15] >> 7);   /* sigma0 */
    u64 s1 = rotr64(w[t - 2], 19) ^ rotr64(w[t - 2], 61) ^ (w[t - 2] >> 6);    /* sigma1 */
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  u64 a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
  for (int t = 0; t < 80; t++) {
    u64 S1 = rotr64(e, 14) ^ rotr64(e, 18) ^ rotr64(e, 41); /* Sigma1(e) */
    u64 ch = (e & f) ^ (~e & g);
    u64 t1 = h + S1 + ch + SHA512_K[t] + w[t];
    u64 S0 = rotr64(a, 28) ^ rotr64(a, 34) ^ rotr64(a, 39); /* Sigma0(a) */
    u64 maj = (a & b) ^ (a & c) ^ (b & c);
    u64 t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  st[0] += a;
  st[1] += b;
  st[2] += c;
  st[3] += d;
  st[4] += e;
  st[5] += f;
  st[6] += g;
  st[7] += h;
}

static void sha512_init(sha512_ctx *c) {
  memcpy(c->state, SHA512_IV, sizeof c->state);
  c->buf_len = 0;
  c->total = 0;
}

static void sha512_update(sha512_ctx *c, const uint8_t *p, size_t n) {
  c->total += n;
  if (c->buf_len > 0) {
    size_t take = 128 - c->buf_len;
    if (take > n) take = n;
    memcpy(c->buf + c->buf_len, p, take);
    c->buf_len += take;
    p += take;
    n -= take;
    if (c->buf_len < 128) return;
    sha512_block(c->state, c->buf);
    c->buf_len = 0;
  }
  while (n >= 128) { /* whole blocks straight from the input */
    sha512_block(c->state, p);
    p += 128;
    n -= 128;
  }
  if (n > 0) {
    memcpy(c->buf, p, n);
    c->buf_len = n;
  }
}

/*
 * Padding (§5.1.2): a 1 bit, zeros, then the length in bits as a 128-bit
 * big-endian integer, so the total is a multiple of 1024 bits. When fewer
 * than 17 bytes remain in the block (buf_len >= 112 after the 0x80), the
 * length spills into one more block.
 */
static void sha512_final(sha512_ctx *c, uint8_t out[64]) {
  u64 bits_lo = c->total << 3, bits_hi = c->total >> 61;
  c->buf[c->buf_len++] = 0x80;
  if (c->buf_len > 112) {
    memset(c->buf + c->buf_len, 0, 128 - c->buf_len);
    sha512_block(c->state, c->buf);
    c->buf_len = 0;
  }
  memset(c->buf + c->buf_len, 0, 112 - c->buf_len);
  store_be64(c->buf + 112, bits_hi);
  store_be64(c->buf + 120, bits_lo);
  sha512_block(c->state, c->buf);
  for (int i = 0; i < 8; i++) store_be64(out + 8 * i, c->state[i]);
}

/* ======================================================================== */
/* Scalars modulo the group order L = 2^252 + c.                            */
/* ======================================================================== */

/* c = 27742317777372353535851937790883648493 (RFC 8032 §5.1), 125 bits. */
static const u64 SC_C[2] = {0x5812631a5cf5d3edULL, 0x14def9dea2f79cd6ULL};
static const u64 SC_L[4] = {0x5812631a5cf5d3edULL, 0x14def9dea2f79cd6ULL, 0, 0x1000000000000000ULL};
#define LOW60 ((1ULL << 60) - 1)

/* r[0..na+nb) = a * b, schoolbook; r must not alias a or b. */
static void mp_mul(u64 *r, const u64 *a, int na, const u64 *b, int nb) {
  for (int i = 0; i < na + nb; i++) r[i] = 0;
  for (int i = 0; i < na; i++) {
    u64 carry = 0;
    for (int j = 0; j < nb; j++) {
      /* a*b + r + carry <= (2^64-1)^2 + 2(2^64-1) = 2^128 - 1: no overflow. */
      u128 t = (u128)a[i] * b[j] + r[i + j] + carry;
      r[i + j] = (u64)t;
      carry = (u64)(t >> 64);
    }
    r[i + nb] = carry;
  }
}

/* Splits the n-limb x (n >= 4) as x = lo + hi * 2^252 with lo < 2^252; hi gets n-3 limbs. */
static void sc_split252(const u64 *x, int n, u64 lo[4], u64 *hi) {
  lo[0] = x[0];
  lo[1] = x[1];
  lo[2] = x[2];
  lo[3] = x[3] & LOW60;
  for (int i = 0; i < n - 3; i++) hi[i] = (x[i + 3] >> 60) | (i + 4 < n ? x[i + 4] << 4 : 0);
}

/* r = a + b over 4 limbs; returns the carry out. */
static u64 mp_add4(u64 r[4], const u64 a[4], const u64 b[4]) {
  u128 acc = 0;
  for (int i = 0; i < 4; i++) {
    acc += (u128)a[i] + b[i];
    r[i] = (u64)acc;
    acc >>= 64;
  }
  return (u64)acc;
}

/* r = a - b over 4 limbs; returns the borrow out (1 when a < b). */
static u64 mp_sub4(u64 r[4], const u64 a[4], const u64 b[4]) {
  u64 borrow = 0;
  for (int i = 0; i < 4; i++) {
    u64 ai = a[i], bi = b[i];
    u64 d = ai - bi - borrow;
    borrow = (ai < bi) || (ai == bi && borrow) ? 1 : 0;
    r[i] = d;
  }
  return borrow;
}

/* 1 when the 4-limb a < L. */
static int sc_lt_L(const u64 a[4]) {
  for (int i = 3; i >= 0; i--) {
    if (a[i] != SC_L[i]) return a[i] < SC_L[i];
  }
  return 0;
}

/*
 * out = x mod L for the 512-bit little-endian x (a SHA-512 digest).
 *
 * Because 2^252 = L - c, we have 2^252 == -c (mod L), so any x = lo + hi*2^252
 * satisfies x == lo - hi*c. Folding three times with alternating signs:
 *   x  = lo0 + hi0*2^252,  hi0 < 2^260        x == lo0 - t,       t = hi0*c < 2^385
 *   t  = lo1 + hi1*2^252,  hi1 < 2^133        t == lo1 - u,       u = hi1*c < 2^258
 *   u  = lo2 + hi2*2^252,  hi2 < 2^6          u == lo2 - w,       w = hi2*c < 2^131
 * so x == lo0 - lo1 + lo2 - w (mod L), with every lo_i < 2^252.
 * v = lo0 + lo2 + 2L - lo1 - w lies in (2L - 2^252 - 2^131, 2L + 2^253) ⊂ (0, 4L),
 * and at most three subtractions of L finish the reduction.
 */
static void sc_reduce512(const uint8_t h[64], u64 out[4]) {
  u64 x[8], lo0[4], hi0[5], t[7], lo1[4], hi1[4], u[6], lo2[4], hi2[3], w[5];
  for (int i = 0; i < 8; i++) x[i] = load_le64(h + 8 * i);

  sc_split252(x, 8, lo0, hi0); /* hi0: 5 limbs, < 2^260 */
  mp_mul(t, hi0, 5, SC_C, 2);  /* t: 7 limbs, < 2^385 */
  sc_split252(t, 7, lo1, hi1); /* hi1: 4 limbs, < 2^133 */
  mp_mul(u, hi1, 4, SC_C, 2);  /* u: 6 limbs, < 2^258 */
  sc_split252(u, 6, lo2, hi2); /* hi2: 3 limbs, < 2^6 */
  mp_mul(w, hi2, 3, SC_C, 2);  /* w: 5 limbs, < 2^131 (w[3], w[4] are zero) */

  static const u64 two_l[4] = {0xb024c634b9eba7daULL, 0x29bdf3bd45ef39acULL, 0, 0x2000000000000000ULL};
  u64 pos[4], neg[4], v[4];
  /* pos = lo0 + lo2 + 2L < 2^252 + 2^252 + 2^254 < 2^255: no carry out of 4 limbs. */
  mp_add4(pos, lo0, lo2);
  mp_add4(pos, pos, two_l);
  /* neg = lo1 + w < 2^252 + 2^131. */
  mp_add4(neg, lo1, w);
  /* v = pos - neg > 2L - 2^252 - 2^131 > 0: no borrow. */
  mp_sub4(v, pos, neg);
  while (!sc_lt_L(v)) mp_sub4(v, v, SC_L);
  memcpy(out, v, sizeof v);
}

/*
 * Signed radix-16 digits of a scalar s < 2^253: s = sum e[i] * 16^i with
 * e[i] in [-8, 7] for i < 63 and e[63] in [0, 2] (the top nibble of s is at
 * most 1, plus at most one carry), so |e| <= 8 always indexes the 8-entry
 * rows. A digit >= 8 is recentred by subtracting 16 and carrying one into
 * the next nibble.
 */
static void sc_digits16(const u64 s[4], int8_t e[64]) {
  for (int i = 0; i < 64; i++) e[i] = (int8_t)((s[i >> 4] >> (4 * (i & 15))) & 15);
  int carry = 0;
  for (int i = 0; i < 63; i++) {
    int v = e[i] + carry;
    carry = (v + 8) >> 4; /* 1 when v >= 8 (v <= 16 here) */
    e[i] = (int8_t)(v - (carry << 4));
  }
  e[63] = (int8_t)(e[63] + carry);
}

/* ======================================================================== */
/* The field GF(p), p = 2^255 - 19.                                          */
/* ======================================================================== */

/*
 * An element is five unsigned 64-bit limbs of radix 2^51:
 *   value = v[0] + v[1]*2^51 + v[2]*2^102 + v[3]*2^153 + v[4]*2^204 (mod p).
 * Limbs may exceed 2^51 ("unreduced"); the bounds each routine needs and
 * produces are stated with it. The working ranges:
 *   tight:  every limb < 2^51 + 2^20 (< 2^52) - what fe_mul/fe_sq/fe_carry return;
 *   loose:  every limb < 2^55               - what fe_mul/fe_sq accept.
 * fe_add of two values < 2^52 gives < 2^53; fe_sub(f, g) gives < f + 2^53 and
 * needs g < 2^53 - 76. The point formulas below check their chains against this.
 */
typedef struct {
  u64 v[5];
} fe;

#define MASK51 ((1ULL << 51) - 1)

/*
 * Building with -DEV_CHECK_BOUNDS turns the limb bounds stated on each
 * routine into run-time assertions (used by a standalone stress harness).
 */
#ifdef EV_CHECK_BOUNDS
#include <assert.h>
#define FE_ASSERT_BELOW(f, bits)                                    \
  do {                                                              \
    for (int i_ = 0; i_ < 5; i_++) assert((f)->v[i_] < (1ULL << (bits))); \
  } while (0)
#define FE_ASSERT_SUBTRAHEND(g)                                     \
  do {                                                              \
    assert((g)->v[0] <= (1ULL << 53) - 76);                         \
    for (int i_ = 1; i_ < 5; i_++) assert((g)->v[i_] <= (1ULL << 53) - 4); \
  } while (0)
#else
#define FE_ASSERT_BELOW(f, bits) ((void)0)
#define FE_ASSERT_SUBTRAHEND(g) ((void)0)
#endif

static inline void fe_0(fe *h) { memset(h, 0, sizeof *h); }

static inline void fe_1(fe *h) {
  fe_0(h);
  h->v[0] = 1;
}

static inline void fe_small(fe *h, u64 n) { /* n < 2^51 */
  fe_0(h);
  h->v[0] = n;
}

/* h = f + g, limbwise, no carry. */
static inline void fe_add(fe *h, const fe *f, const fe *g) {
  for (int i = 0; i < 5; i++) h->v[i] = f->v[i] + g->v[i];
}

/*
 * h = f - g computed as f + 4p - g, so no limb underflows as long as every
 * limb of g is at most the matching limb of 4p: 4(2^51 - 19) = 2^53 - 76 for
 * limb 0 and 4(2^51 - 1) = 2^53 - 4 for the others. Result limbs < f + 2^53.
 */
static inline void fe_sub(fe *h, const fe *f, const fe *g) {
  FE_ASSERT_SUBTRAHEND(g);
  FE_ASSERT_BELOW(f, 63);
  h->v[0] = (f->v[0] + ((1ULL << 53) - 76)) - g->v[0];
  h->v[1] = (f->v[1] + ((1ULL << 53) - 4)) - g->v[1];
  h->v[2] = (f->v[2] + ((1ULL << 53) - 4)) - g->v[2];
  h->v[3] = (f->v[3] + ((1ULL << 53) - 4)) - g->v[3];
  h->v[4] = (f->v[4] + ((1ULL << 53) - 4)) - g->v[4];
}

static inline void fe_neg(fe *h, const fe *f) {
  fe z;
  fe_0(&z);
  fe_sub(h, &z, f);
}

/*
 * Shared tail of fe_mul and fe_sq: carries five 128-bit column sums r[i]
 * (each < 2^117) down to tight limbs. 2^255 == 19 (mod p), so the carry out
 * of the top limb re-enters the bottom one multiplied by 19.
 *   - carries between columns are < 2^(117-51) = 2^66, kept in 128 bits;
 *   - the top carry c4 < 2^66 (+1), and 19*c4 < 2^71, again in 128 bits;
 *   - after adding 19*c4 to limb 0 (< 2^51), limb 0 < 2^72, its carry into
 *     limb 1 is < 2^21, so limb 1 < 2^51 + 2^21 and all others < 2^51.
 */
static inline void fe_carry_wide(fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  r1 += r0 >> 51;
  r2 += r1 >> 51;
  r3 += r2 >> 51;
  r4 += r3 >> 51;
  u128 c4 = r4 >> 51;
  u128 t0 = (u128)((u64)r0 & MASK51) + c4 * 19;
  h->v[0] = (u64)t0 & MASK51;
  h->v[1] = ((u64)r1 & MASK51) + (u64)(t0 >> 51);
  h->v[2] = (u64)r2 & MASK51;
  h->v[3] = (u64)r3 & MASK51;
  h->v[4] = (u64)r4 & MASK51;
}

/*
 * h = f * g. Inputs loose (limbs < 2^55). Column k collects f_i g_j with
 * i + j == k, and with i + j == k + 5 multiplied by 19 (2^255 == 19).
 * Bounds: 19 g_j < 2^59.3 fits 64 bits; each product < 2^55 * 2^59.3 = 2^114.3;
 * column 0, the largest, holds one plain product and four 19-scaled ones:
 * < 2^110 + 4 * 2^114.3 < 2^116.4 < 2^117. Output tight. h may alias f or g.
 */
static inline void fe_mul(fe *h, const fe *f, const fe *g) {
  FE_ASSERT_BELOW(f, 55);
  FE_ASSERT_BELOW(g, 55);
  u64 f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  u64 g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
  u64 g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
  u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
  u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
  u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
  u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
  u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
  fe_carry_wide(h, r0, r1, r2, r3, r4);
}

/*
 * h = f^2. Same column structure, with each cross term f_i f_j (i != j)
 * counted twice:
 *   col0 = f0^2        + 19(2 f1 f4 + 2 f2 f3)
 *   col1 = 2 f0 f1     + 19(2 f2 f4 + f3^2)
 *   col2 = 2 f0 f2 + f1^2 + 19(2 f3 f4)
 *   col3 = 2 f0 f3 + 2 f1 f2 + 19 f4^2
 *   col4 = 2 f0 f4 + 2 f1 f3 + f2^2
 * Inputs loose (< 2^55): 2 f_i < 2^56, 19 f_j < 2^59.3, products < 2^115.3,
 * each column < 2^110 + 2 * 2^115.3 < 2^116.4. Output tight.
 */
static inline void fe_sq(fe *h, const fe *f) {
  FE_ASSERT_BELOW(f, 55);
  u64 f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  u64 d0 = 2 * f0, d1 = 2 * f1, d2 = 2 * f2, d3 = 2 * f3;
  u64 f3_19 = 19 * f3, f4_19 = 19 * f4;
  u128 r0 = (u128)f0 * f0 + (u128)d1 * f4_19 + (u128)d2 * f3_19;
  u128 r1 = (u128)d0 * f1 + (u128)d2 * f4_19 + (u128)f3 * f3_19;
  u128 r2 = (u128)d0 * f2 + (u128)f1 * f1 + (u128)d3 * f4_19;
  u128 r3 = (u128)d0 * f3 + (u128)d1 * f2 + (u128)f4 * f4_19;
  u128 r4 = (u128)d0 * f4 + (u128)d1 * f3 + (u128)f2 * f2;
  fe_carry_wide(h, r0, r1, r2, r3, r4);
}

/* h = f^(2^k), k >= 1. */
static void fe_sqn(fe *h, const fe *f, int k) {
  fe_sq(h, f);
  for (int i = 1; i < k; i++) fe_sq(h, h);
}

/* One carry pass over loose limbs (< 2^63): limbs 1..4 end < 2^51, limb 0 < 2^51 + 19*2^12. */
static inline void fe_carry(fe *h) {
  u64 c;
  c = h->v[0] >> 51; h->v[0] &= MASK51; h->v[1] += c;
  c = h->v[1] >> 51; h->v[1] &= MASK51; h->v[2] += c;
  c = h->v[2] >> 51; h->v[2] &= MASK51; h->v[3] += c;
  c = h->v[3] >> 51; h->v[3] &= MASK51; h->v[4] += c;
  c = h->v[4] >> 51; h->v[4] &= MASK51; h->v[0] += 19 * c;
}

/* Reads 32 little-endian bytes, ignoring bit 255 (the caller handles it). Value < 2^255. */
static void fe_frombytes(fe *h, const uint8_t s[32]) {
  h->v[0] = load_le64(s) & MASK51;               /* bits   0.. 50 */
  h->v[1] = (load_le64(s + 6) >> 3) & MASK51;    /* bits  51..101 (byte 6 bit 3) */
  h->v[2] = (load_le64(s + 12) >> 6) & MASK51;   /* bits 102..152 (byte 12 bit 6) */
  h->v[3] = (load_le64(s + 19) >> 1) & MASK51;   /* bits 153..203 (byte 19 bit 1) */
  h->v[4] = (load_le64(s + 24) >> 12) & MASK51;  /* bits 204..254 (byte 25 bit 4) */
}

/*
 * The canonical encoding: the unique representative in [0, p), 32 bytes
 * little-endian (bit 255 is zero). Input limbs loose (< 2^55).
 * Two carry passes bring every limb below 2^51 (value < 2^255): after the
 * first, limbs 1..4 < 2^51 and limb 0 < 2^51 + 19*17; in the second, a carry
 * can only ripple to the top if it started at limb 0, which then holds less
 * than 19*17, so adding 19 back keeps it below 2^51. A value in [0, 2^255)
 * is >= p exactly when value + 19 >= 2^255, i.e. when adding 19 carries out
 * of bit 254; in that case value - p = (value + 19) - 2^255.
 */
static void fe_tobytes(uint8_t s[32], const fe *f) {
  FE_ASSERT_BELOW(f, 55);
  fe h = *f;
  fe_carry(&h);
  fe_carry(&h);
  u64 t[5], c;
  t[0] = h.v[0] + 19; c = t[0] >> 51; t[0] &= MASK51;
  t[1] = h.v[1] + c;  c = t[1] >> 51; t[1] &= MASK51;
  t[2] = h.v[2] + c;  c = t[2] >> 51; t[2] &= MASK51;
  t[3] = h.v[3] + c;  c = t[3] >> 51; t[3] &= MASK51;
  t[4] = h.v[4] + c;  c = t[4] >> 51; t[4] &= MASK51;
  const u64 *r = c ? t : h.v; /* c == 1: value >= p, use value - p */
  store_le64(s + 0, r[0] | (r[1] << 51));
  store_le64(s + 8, (r[1] >> 13) | (r[2] << 38));
  store_le64(s + 16, (r[2] >> 26) | (r[3] << 25));
  store_le64(s + 24, (r[3] >> 39) | (r[4] << 12));
}

static int fe_iszero(const fe *f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  uint8_t acc = 0;
  for (int i = 0; i < 32; i++) acc |= s[i];
  return acc == 0;
}

static int fe_equal(const fe *f, const fe *g) {
  uint8_t a[32], b[32];
  fe_tobytes(a, f);
  fe_tobytes(b, g);
  return memcmp(a, b, 32) == 0;
}

/* The "sign" of RFC 8032: the parity of the canonical representative. */
static int fe_isodd(const fe *f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  return s[0] & 1;
}

/*
 * z^(2^250 - 1), the common prefix of inversion and the square-root power.
 * Each z_a_b below is z^(2^a - 2^b); 2^(2n) - 1 = (2^n - 1)*2^n + (2^n - 1)
 * doubles the run of ones by n squarings and one multiplication.
 * Also returns z^11 (needed by inversion).
 */
static void fe_pow_2_250_1(fe *out, fe *z11, const fe *z) {
  fe z2, z9, t, z_5_0, z_10_0, z_20_0, z_50_0, z_100_0;
  fe_sq(&z2, z);              /* z^2 */
  fe_sqn(&t, &z2, 2);         /* z^8 */
  fe_mul(&z9, &t, z);         /* z^9 */
  fe_mul(z11, &z9, &z2);      /* z^11 */
  fe_sq(&t, z11);             /* z^22 */
  fe_mul(&z_5_0, &t, &z9);    /* z^31 = z^(2^5 - 1) */
  fe_sqn(&t, &z_5_0, 5);
  fe_mul(&z_10_0, &t, &z_5_0);   /* 2^10 - 1 */
  fe_sqn(&t, &z_10_0, 10);
  fe_mul(&z_20_0, &t, &z_10_0);  /* 2^20 - 1 */
  fe_sqn(&t, &z_20_0, 20);
  fe_mul(&t, &t, &z_20_0);       /* 2^40 - 1 */
  fe_sqn(&t, &t, 10);
  fe_mul(&z_50_0, &t, &z_10_0);  /* 2^50 - 1 */
  fe_sqn(&t, &z_50_0, 50);
  fe_mul(&z_100_0, &t, &z_50_0); /* 2^100 - 1 */
  fe_sqn(&t, &z_100_0, 100);
  fe_mul(&t, &t, &z_100_0);      /* 2^200 - 1 */
  fe_sqn(&t, &t, 50);
  fe_mul(out, &t, &z_50_0);      /* 2^250 - 1 */
}

/* h = z^(p-2) = 1/z (Fermat); p - 2 = 2^255 - 21 = (2^250 - 1)*2^5 + 11. 0 maps to 0. */
static void fe_invert(fe *h, const fe *z) {
  fe t, z11;
  fe_pow_2_250_1(&t, &z11, z);
  fe_sqn(&t, &t, 5);
  fe_mul(h, &t, &z11);
}

/* h = z^((p-5)/8) = z^(2^252 - 3) = (z^(2^250 - 1))^4 * z. */
static void fe_pow_p58(fe *h, const fe *z) {
  fe t, z11;
  fe_pow_2_250_1(&t, &z11, z);
  fe_sqn(&t, &t, 2);
  fe_mul(h, &t, z);
}

/* h = base^e for a 256-bit little-endian exponent, plain square-and-multiply (init only). */
static void fe_pow_bytes(fe *h, const fe *base, const uint8_t e[32]) {
  fe acc;
  fe_1(&acc);
  for (int bit = 255; bit >= 0; bit--) {
    fe_sq(&acc, &acc);
    if ((e[bit >> 3] >> (bit & 7)) & 1) fe_mul(&acc, &acc, base);
  }
  *h = acc;
}

/* Curve constants, derived at load time (see init_tables). Read-only afterwards. */
static fe FE_D;      /* d = -121665/121666 */
static fe FE_D2;     /* 2d */
static fe FE_SQRTM1; /* sqrt(-1) = 2^((p-1)/4) */

/* ======================================================================== */
/* Points.                                                                   */
/* ======================================================================== */

/*
 * Extended coordinates (Hisil et al. §3): x = X/Z, y = Y/Z, x*y = T/Z.
 * Every coordinate produced by our formulas is a fe_mul output (tight).
 */
typedef struct {
  fe X, Y, Z, T;
} ge;

/* An affine point precomputed for mixed addition: y+x, y-x, 2d*x*y. Limbs tight. */
typedef struct {
  fe ypx, ymx, xy2d;
} ge_niels;

/* A projective point precomputed for general addition: Y+X, Y-X, Z, 2d*T. */
typedef struct {
  fe YpX, YmX, Z, T2d;
} ge_cached;

static void ge_identity(ge *p) {
  fe_0(&p->X);
  fe_1(&p->Y);
  fe_1(&p->Z);
  fe_0(&p->T);
}

static void ge_to_cached(ge_cached *c, const ge *p) {
  fe_add(&c->YpX, &p->Y, &p->X); /* < 2^53 */
  fe_sub(&c->YmX, &p->Y, &p->X); /* < 2^52 + 2^53 < 2^54 */
  c->Z = p->Z;
  fe_mul(&c->T2d, &p->T, &FE_D2);
}

/*
 * r = p + q with the unified addition for a = -1 (Hisil et al. §3.1, k = 2d):
 *   A = (Y1-X1)(Y2-X2), B = (Y1+X1)(Y2+X2), C = 2d T1 T2, D = 2 Z1 Z2,
 *   E = B - A, F = D - C, G = D + C, H = B + A,
 *   X3 = E F, Y3 = G H, T3 = E H, Z3 = F G.
 * E = 2(X1Y2 + Y1X2) and H = 2(X1X2 + Y1Y2), so X3/Z3 = E/G and Y3/Z3 = H/F
 * are the affine addition law x3 = (x1y2+y1x2)/(1+dx1x2y1y2),
 * y3 = (y1y2+x1x2)/(1-dx1x2y1y2). Complete on this curve because -1 is a
 * square and d is not, so it is also correct for doubling and the identity.
 * Bounds: mul inputs Y1-X1 < 2^54, Y1+X1 < 2^53, cached fields < 2^54;
 * A, B, C, ZZ tight; D < 2^53; E, F < 2^54; G, H < 2^54: all < 2^55.
 */
static void ge_add(ge *r, const ge *p, const ge_cached *q) {
  fe a, b, c, d, e, f, g, h, t;
  fe_sub(&t, &p->Y, &p->X);
  fe_mul(&a, &t, &q->YmX);
  fe_add(&t, &p->Y, &p->X);
  fe_mul(&b, &t, &q->YpX);
  fe_mul(&c, &p->T, &q->T2d);
  fe_mul(&t, &p->Z, &q->Z);
  fe_add(&d, &t, &t);
  fe_sub(&e, &b, &a);
  fe_sub(&f, &d, &c);
  fe_add(&g, &d, &c);
  fe_add(&h, &b, &a);
  fe_mul(&r->X, &e, &f);
  fe_mul(&r->Y, &g, &h);
  fe_mul(&r->T, &e, &h);
  fe_mul(&r->Z, &f, &g);
}

/*
 * r = p + q (neg = 0) or p - q (neg = 1) for an affine niels q: the same
 * formulas with Z2 = 1 and T2 = x2 y2, so D = 2 Z1 costs an addition.
 * Negating q = (x, y) gives (-x, y): y+x and y-x swap and 2dxy changes
 * sign, which turns F = D - C / G = D + C into F = D + C / G = D - C.
 * Bounds as in ge_add (table entries are tight). r may alias p.
 */
static inline void ge_madd(ge *r, const ge *p, const ge_niels *q, int neg) {
  fe a, b, c, d, e, f, g, h, t;
  fe_sub(&t, &p->Y, &p->X);
  fe_mul(&a, &t, neg ? &q->ypx : &q->ymx);
  fe_add(&t, &p->Y, &p->X);
  fe_mul(&b, &t, neg ? &q->ymx : &q->ypx);
  fe_mul(&c, &p->T, &q->xy2d);
  fe_add(&d, &p->Z, &p->Z);
  fe_sub(&e, &b, &a);
  fe_add(&h, &b, &a);
  if (neg) {
    fe_add(&f, &d, &c);
    fe_sub(&g, &d, &c);
  } else {
    fe_sub(&f, &d, &c);
    fe_add(&g, &d, &c);
  }
  fe_mul(&r->X, &e, &f);
  fe_mul(&r->Y, &g, &h);
  fe_mul(&r->T, &e, &h);
  fe_mul(&r->Z, &f, &g);
}

/*
 * r = 2p (Hisil et al. §3.3 "dbl-2008-hwcd" with a = -1, with E, F, G, H
 * all negated, which leaves the products unchanged and avoids a negation):
 *   A = X^2, B = Y^2, C = 2Z^2, H = A + B, E = H - (X+Y)^2 = -2XY,
 *   G = A - B, F = C + G,  X3 = E F, Y3 = G H, Z3 = F G, T3 = E H.
 * Check: X3/Z3 = E/G = 2XY/(Y^2 - X^2) and Y3/Z3 = H/F = (X^2+Y^2)/(2Z^2 + X^2 - Y^2),
 * the affine doubling x3 = 2xy/(y^2 - x^2), y3 = (y^2 + x^2)/(2 - y^2 + x^2).
 * T is not read. want_t = 0 skips T3 when the next step is another doubling.
 * Bounds: X, Y tight; X+Y < 2^53; A, B, t tight; C, H < 2^53;
 * E = H - t < 2^54; G = A - B < 2^54; F = C + G < 2^53 + 2^54 < 2^55. r may alias p.
 */
static inline void ge_dbl(ge *r, const ge *p, int want_t) {
  fe a, b, c, e, f, g, h, t;
  fe_sq(&a, &p->X);
  fe_sq(&b, &p->Y);
  fe_sq(&t, &p->Z);
  fe_add(&c, &t, &t);
  fe_add(&h, &a, &b);
  fe_add(&t, &p->X, &p->Y);
  fe_sq(&t, &t);
  fe_sub(&e, &h, &t);
  fe_sub(&g, &a, &b);
  fe_add(&f, &c, &g);
  fe_mul(&r->X, &e, &f);
  fe_mul(&r->Y, &g, &h);
  fe_mul(&r->Z, &f, &g);
  if (want_t) fe_mul(&r->T, &e, &h);
}

static int ge_is_identity(const ge *p) { return fe_iszero(&p->X) && fe_equal(&p->Y, &p->Z); }

/*
 * Recovers x from y (RFC 8032 §5.1.3): x^2 = u/v with u = y^2 - 1, v = d y^2 + 1.
 * Since p = 5 (mod 8), a candidate root is (u/v)^((p+3)/8), computed without
 * an inversion as x = u v^3 (u v^7)^((p-5)/8). If v x^2 = u it is a root; if
 * v x^2 = -u then x * sqrt(-1) is; otherwise u/v is not a square.
 * (v is never 0: that would need y^2 = -1/d, and -1/d is not a square.)
 * Returns 0 when there is no root or x = 0 with sign = 1.
 */
static int ge_from_y(ge *p, const fe *y, int sign) {
  fe u, v, v3, t, x, vx2, one;
  fe_1(&one);
  fe_sq(&u, y);
  fe_mul(&v, &u, &FE_D);
  fe_sub(&u, &u, &one); /* u = y^2 - 1 */
  fe_add(&v, &v, &one); /* v = d y^2 + 1 */
  fe_carry(&u);         /* tight again: u is negated below, and fe_sub needs g < 2^53 */
  fe_carry(&v);
  fe_sq(&t, &v);
  fe_mul(&v3, &t, &v);  /* v^3 */
  fe_sq(&t, &v3);
  fe_mul(&t, &t, &v);   /* v^7 */
  fe_mul(&t, &t, &u);   /* u v^7 */
  fe_pow_p58(&t, &t);
  fe_mul(&t, &t, &v3);
  fe_mul(&x, &t, &u);   /* u v^3 (u v^7)^((p-5)/8) */
  fe_sq(&t, &x);
  fe_mul(&vx2, &t, &v);
  if (!fe_equal(&vx2, &u)) {
    fe_neg(&t, &u);
    if (!fe_equal(&vx2, &t)) return 0;
    fe_mul(&x, &x, &FE_SQRTM1);
  }
  if (fe_iszero(&x)) {
    if (sign) return 0;
  } else if (fe_isodd(&x) != sign) {
    fe_neg(&x, &x);
  }
  fe_carry(&x);
  p->X = x;
  p->Y = *y;
  fe_1(&p->Z);
  fe_mul(&p->T, &x, y);
  return 1;
}

/* RFC 8032 §5.1.2 encoding: canonical y, with bit 255 = parity of x. */
static void ge_encode(uint8_t s[32], const ge *p) {
  fe zi, x, y;
  fe_invert(&zi, &p->Z);
  fe_mul(&x, &p->X, &zi);
  fe_mul(&y, &p->Y, &zi);
  fe_tobytes(s, &y);
  s[31] |= (uint8_t)(fe_isodd(&x) << 7);
}

/* ======================================================================== */
/* Fixed-base tables.                                                        */
/* ======================================================================== */

/*
 * table[i][j] = (j+1) * 256^i * P, for i < 32 and j < 8, in affine niels form.
 * With signed radix-16 digits e of a scalar s,
 *   s P = sum_i e[2i] 256^i P + 16 * sum_i e[2i+1] 256^i P,
 * so one table row serves digit pairs, and |e| <= 8 picks entry |e| - 1.
 */
typedef ge_niels fixed_table[32][8];

/*
 * Builds the table of P. Per row: 2P, 4P, 6P, 8P by doubling, 3P, 5P, 7P
 * by adding P to the even multiple below; the next row's base 256^(i+1) P
 * is 8 * 256^i P doubled five more times. All 256 points are then made
 * affine together with Montgomery's trick (one inversion, three
 * multiplications per point).
 */
static int build_table(fixed_table *out, const ge *P) {
  ge *pts = malloc(256 * sizeof(ge));
  fe *prefix = malloc(256 * sizeof(fe));
  if (!pts || !prefix) {
    free(pts);
    free(prefix);
    return 0;
  }
  ge cur = *P;
  for (int i = 0; i < 32; i++) {
    ge *row = pts + 8 * i;
    ge_cached c;
    ge_to_cached(&c, &cur);
    row[0] = cur;
    ge_dbl(&row[1], &row[0], 1);   /* 2 */
    ge_add(&row[2], &row[1], &c);  /* 3 */
    ge_dbl(&row[3], &row[1], 1);   /* 4 */
    ge_add(&row[4], &row[3], &c);  /* 5 */
    ge_dbl(&row[5], &row[2], 1);   /* 6 */
    ge_add(&row[6], &row[5], &c);  /* 7 */
    ge_dbl(&row[7], &row[3], 1);   /* 8 */
    if (i < 31) {
      ge_dbl(&cur, &row[7], 1);    /* 16 */
      for (int k = 0; k < 4; k++) ge_dbl(&cur, &cur, 1); /* 256 */
    }
  }
  /* prefix[k] = Z_0 * ... * Z_k; one inversion, then peel factors off from the top. */
  prefix[0] = pts[0].Z;
  for (int k = 1; k < 256; k++) fe_mul(&prefix[k], &prefix[k - 1], &pts[k].Z);
  fe inv;
  fe_invert(&inv, &prefix[255]); /* 1 / (Z_0 ... Z_255); no Z is 0 (complete formulas) */
  for (int k = 255; k >= 0; k--) {
    fe zinv, x, y;
    if (k > 0) {
      fe_mul(&zinv, &inv, &prefix[k - 1]); /* 1/Z_k */
      fe_mul(&inv, &inv, &pts[k].Z);       /* 1 / (Z_0 ... Z_{k-1}) */
    } else {
      zinv = inv;
    }
    fe_mul(&x, &pts[k].X, &zinv);
    fe_mul(&y, &pts[k].Y, &zinv);
    ge_niels *n = &(*out)[k >> 3][k & 7];
    fe_add(&n->ypx, &y, &x);
    fe_sub(&n->ymx, &y, &x);
    fe_carry(&n->ypx);
    fe_carry(&n->ymx);
    fe_mul(&n->xy2d, &x, &y);
    fe_mul(&n->xy2d, &n->xy2d, &FE_D2);
  }
  free(pts);
  free(prefix);
  return 1;
}

static fixed_table BASE_TABLE; /* multiples of the base point B; read-only after init */

static inline void add_digit(ge *acc, const ge_niels row[8], int e) {
  if (e > 0) ge_madd(acc, acc, &row[e - 1], 0);
  else if (e < 0) ge_madd(acc, acc, &row[-e - 1], 1);
}

/* ======================================================================== */
/* Prepared keys and verification.                                           */
/* ======================================================================== */

typedef struct {
  uint8_t pub[32];       /* the key bytes as given; hashed into k */
  fixed_table neg_table; /* multiples of -A, so [S]B - [k]A is a sum of table lookups */
} prepared_key;

/* 1 when the 255-bit y in s (bit 255 ignored) is >= p = 2^255 - 19. */
static int y_is_noncanonical(const uint8_t s[32]) {
  if ((s[31] & 0x7f) != 0x7f) return 0;
  for (int i = 30; i >= 1; i--)
    if (s[i] != 0xff) return 0;
  return s[0] >= 0xed;
}

/* Returns a new key, or NULL for keys the fast path declines (or on allocation failure). */
static prepared_key *prepare_key(const uint8_t pub[32]) {
  if (y_is_noncanonical(pub)) return NULL;
  fe y;
  fe_frombytes(&y, pub);
  ge A;
  if (!ge_from_y(&A, &y, pub[31] >> 7)) return NULL;
  /* Small order (including the identity): [8]A is the identity. */
  ge a8;
  ge_dbl(&a8, &A, 1);
  ge_dbl(&a8, &a8, 1);
  ge_dbl(&a8, &a8, 1);
  if (ge_is_identity(&a8)) return NULL;
  /* -A = (-x, y): negate X and T. */
  fe_neg(&A.X, &A.X);
  fe_carry(&A.X);
  fe_neg(&A.T, &A.T);
  fe_carry(&A.T);
  prepared_key *k = malloc(sizeof *k);
  if (!k) return NULL;
  memcpy(k->pub, pub, 32);
  if (!build_table(&k->neg_table, &A)) {
    free(k);
    return NULL;
  }
  return k;
}

/* Exactly OpenSSL's cofactorless check; see the header comment. Thread-safe (reads only). */
static int verify_one(const prepared_key *key, const uint8_t *msg, size_t msg_len, const uint8_t sig[64]) {
  const uint8_t *R = sig, *Sb = sig + 32;
  u64 s[4];
  for (int i = 0; i < 4; i++) s[i] = load_le64(Sb + 8 * i);
  if (!sc_lt_L(s)) return 0;

  /* A non-canonical y in R can never equal an encoding we produce. */
  if (y_is_noncanonical(R)) return 0;

  sha512_ctx hc;
  uint8_t h[64];
  sha512_init(&hc);
  sha512_update(&hc, R, 32);
  sha512_update(&hc, key->pub, 32);
  sha512_update(&hc, msg, msg_len);
  sha512_final(&hc, h);
  u64 k[4];
  sc_reduce512(h, k);

  int8_t es[64], ek[64];
  sc_digits16(s, es);
  sc_digits16(k, ek);

  /* [S]B + [k](-A): odd digits first, times 16, then the even digits. */
  ge acc;
  ge_identity(&acc);
  for (int i = 0; i < 32; i++) {
    add_digit(&acc, BASE_TABLE[i], es[2 * i + 1]);
    add_digit(&acc, key->neg_table[i], ek[2 * i + 1]);
  }
  ge_dbl(&acc, &acc, 0);
  ge_dbl(&acc, &acc, 0);
  ge_dbl(&acc, &acc, 0);
  ge_dbl(&acc, &acc, 1);
  for (int i = 0; i < 32; i++) {
    add_digit(&acc, BASE_TABLE[i], es[2 * i]);
    add_digit(&acc, key->neg_table[i], ek[2 * i]);
  }

  /*
   * Cheap early exit for most bad signatures: the encoded y equals R's low
   * 255 bits iff y_R * Z == Y (y_R < p was checked above). Only if that holds
   * is the inversion for the full encoding (and x's parity) paid.
   */
  fe yr, t;
  fe_frombytes(&yr, R);
  fe_mul(&t, &yr, &acc.Z);
  if (!fe_equal(&t, &acc.Y)) return 0;
  uint8_t enc[32];
  ge_encode(enc, &acc);
  return memcmp(enc, R, 32) == 0;
}

/* ======================================================================== */
/* One-time initialisation: constants, base point, base table, self-test.    */
/* ======================================================================== */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_ok = 0;

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void unhex(uint8_t *out, const char *hex, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
}

static void init_tables(void) {
  fe t, u, one;
  fe_1(&one);

  /* d = -121665 / 121666, 2d. */
  fe_small(&t, 121666);
  fe_invert(&t, &t);
  fe_small(&u, 121665);
  fe_mul(&t, &t, &u);
  fe_neg(&FE_D, &t);
  fe_carry(&FE_D);
  fe_add(&FE_D2, &FE_D, &FE_D);
  fe_carry(&FE_D2);

  /*
   * sqrt(-1) = 2^((p-1)/4): p = 5 (mod 8) makes 2 a non-residue, so
   * 2^((p-1)/2) = -1 and its square root is 2^((p-1)/4).
   * (p-1)/4 = 2^253 - 5, little-endian: fb ff ... ff 1f.
   */
  uint8_t e[32];
  memset(e, 0xff, 32);
  e[0] = 0xfb;
  e[31] = 0x1f;
  fe_small(&t, 2);
  fe_pow_bytes(&FE_SQRTM1, &t, e);
  fe_carry(&FE_SQRTM1);
  fe_sq(&t, &FE_SQRTM1);
  fe_add(&t, &t, &one);
  if (!fe_iszero(&t)) return; /* i^2 != -1: arithmetic is broken */

  /* B: y = 4/5, x even (RFC 8032 §5.1). */
  ge B;
  fe_small(&t, 5);
  fe_invert(&t, &t);
  fe_small(&u, 4);
  fe_mul(&t, &t, &u);
  if (!ge_from_y(&B, &t, 0)) return;
  uint8_t benc[32], bexp[32];
  ge_encode(benc, &B);
  unhex(bexp, "5866666666666666666666666666666666666666666666666666666666666666", 32);
  if (memcmp(benc, bexp, 32) != 0) return;
  if (!build_table(&BASE_TABLE, &B)) return;

  /* Self-test: RFC 8032 §7.1 TEST 1 verifies; the same with one bit flipped does not. */
  uint8_t pub[32], sig[64];
  unhex(pub, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", 32);
  unhex(sig,
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        64);
  prepared_key *k = prepare_key(pub);
  if (!k) return;
  int good = verify_one(k, (const uint8_t *)"", 0, sig);
  sig[40] ^= 1;
  int bad = verify_one(k, (const uint8_t *)"", 0, sig);
  free(k);
  init_ok = good == 1 && bad == 0;
}

/* ======================================================================== */
/* Node-API glue.                                                            */
/* ======================================================================== */

/* Marks externals made by this addon, so a foreign external is never read as a key. */
static const napi_type_tag KEY_TAG = {0x6567726573737665ULL, 0x6564323535313921ULL};

#define NAPI_CALL(env, call)                                          \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error((env), NULL, "egress-verify: Node-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static void finalize_key(napi_env env, void *data, void *hint) {
  (void)hint;
  int64_t ignored;
  free(data);
  /* Tell the GC the ~30 KB table is gone (see js_prepare_key). */
  napi_adjust_external_memory(env, -(int64_t)sizeof(prepared_key), &ignored);
}

/* Reads a Uint8Array (Buffer included); throws a TypeError and returns 0 otherwise. */
static int get_bytes(napi_env env, napi_value v, const char *what, const uint8_t **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  void *p = NULL;
  size_t n = 0;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &n, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a Uint8Array", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return 0;
  }
  *data = n ? (const uint8_t *)p : (const uint8_t *)"";
  *len = n;
  return 1;
}

static prepared_key *get_key(napi_env env, napi_value v) {
  napi_valuetype t;
  bool tagged = false;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &KEY_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "key must be a handle returned by prepareKey");
    return NULL;
  }
  return (prepared_key *)p;
}

/* prepareKey(publicKey: Uint8Array): external | null */
static napi_value js_prepare_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "publicKey must be a Uint8Array");
    return NULL;
  }
  const uint8_t *pub;
  size_t len;
  if (!get_bytes(env, argv[0], "publicKey", &pub, &len)) return NULL;
  prepared_key *k = len == 32 ? prepare_key(pub) : NULL;
  if (!k) {
    NAPI_CALL(env, napi_get_null(env, &result));
    return result;
  }
  if (napi_create_external(env, k, finalize_key, NULL, &result) != napi_ok) {
    free(k);
    napi_throw_error(env, NULL, "egress-verify: could not create the key handle");
    return NULL;
  }
  /* The external object itself is tiny; let the GC know what it really holds. */
  int64_t ignored;
  napi_adjust_external_memory(env, (int64_t)sizeof(prepared_key), &ignored);
  NAPI_CALL(env, napi_type_tag_object(env, result, &KEY_TAG));
  return result;
}

/* verify(key, message, signature): boolean */
static napi_value js_verify(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "verify(key, message, signature) needs three arguments");
    return NULL;
  }
  prepared_key *k = get_key(env, argv[0]);
  if (!k) return NULL;
  const uint8_t *msg, *sig;
  size_t msg_len, sig_len;
  if (!get_bytes(env, argv[1], "message", &msg, &msg_len)) return NULL;
  if (!get_bytes(env, argv[2], "signature", &sig, &sig_len)) return NULL;
  int ok = sig_len == 64 && verify_one(k, msg, msg_len, sig);
  NAPI_CALL(env, napi_get_boolean(env, ok, &result));
  return result;
}

typedef struct {
  napi_async_work work;
  napi_ref key_ref, msgs_ref, offs_ref, sigs_ref, done_ref;
  const prepared_key *key;
  const uint8_t *msgs;
  const uint8_t *sigs;
  uint32_t *offsets; /* our own copy, validated: the pool never trusts JS memory for bounds */
  size_t n;
  uint8_t *results;
} batch_job;

static void batch_free(napi_env env, batch_job *job) {
  napi_ref *refs[] = {&job->key_ref, &job->msgs_ref, &job->offs_ref, &job->sigs_ref, &job->done_ref};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (*refs[i]) napi_delete_reference(env, *refs[i]);
  if (job->work) napi_delete_async_work(env, job->work);
  free(job->offsets);
  free(job->results);
  free(job);
}

/* Runs on a libuv pool thread: touches only C memory (the key, the pinned input bytes, our copies). */
static void batch_execute(napi_env env, void *data) {
  (void)env;
  batch_job *job = data;
  for (size_t i = 0; i < job->n; i++) {
    uint32_t a = job->offsets[i], b = job->offsets[i + 1];
    job->results[i] = (uint8_t)verify_one(job->key, job->msgs + a, b - a, job->sigs + 64 * i);
  }
}

/* Back on the JS thread: done(null, results) (or done(error, empty) if the work was cancelled). */
static void batch_complete(napi_env env, napi_status status, void *data) {
  batch_job *job = data;
  napi_value done, undef, argv[2], ab;
  void *ab_data = NULL;
  size_t n = status == napi_ok ? job->n : 0;
  if (napi_get_reference_value(env, job->done_ref, &done) != napi_ok || napi_get_undefined(env, &undef) != napi_ok ||
      napi_create_arraybuffer(env, n, &ab_data, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &argv[1]) != napi_ok) {
    batch_free(env, job);
    napi_throw_error(env, NULL, "egress-verify: could not deliver batch results");
    return;
  }
  if (n) memcpy(ab_data, job->results, n);
  if (status == napi_ok) {
    argv[0] = undef;
    napi_get_null(env, &argv[0]);
  } else {
    napi_value msg;
    napi_create_string_utf8(env, "egress-verify: batch verification was cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &argv[0]);
  }
  batch_free(env, job); /* drop the pins before calling out, so a throwing callback leaks nothing */
  napi_call_function(env, undef, done, 2, argv, NULL);
}

/* verifyBatch(key, messages, offsets: Uint32Array, signatures, done): void */
static napi_value js_verify_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "verifyBatch(key, messages, offsets, signatures, done) needs five arguments");
    return NULL;
  }
  prepared_key *k = get_key(env, argv[0]);
  if (!k) return NULL;
  const uint8_t *msgs, *sigs;
  size_t msgs_len, sigs_len;
  if (!get_bytes(env, argv[1], "messages", &msgs, &msgs_len)) return NULL;

  bool is_ta = false;
  napi_typedarray_type type;
  size_t n_off = 0;
  void *off_data = NULL;
  if (napi_is_typedarray(env, argv[2], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[2], &type, &n_off, &off_data, NULL, NULL) != napi_ok ||
      type != napi_uint32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "offsets must be a Uint32Array");
    return NULL;
  }
  if (!get_bytes(env, argv[3], "signatures", &sigs, &sigs_len)) return NULL;
  napi_valuetype cb_type;
  NAPI_CALL(env, napi_typeof(env, argv[4], &cb_type));
  if (cb_type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "done must be a function");
    return NULL;
  }
  if (n_off < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "offsets must have n + 1 entries (at least one)");
    return NULL;
  }
  size_t n = n_off - 1;
  if (n > SIZE_MAX / 64 || sigs_len != 64 * n) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "signatures must be exactly 64 bytes per item");
    return NULL;
  }

  batch_job *job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "egress-verify: out of memory");
    return NULL;
  }
  job->offsets = malloc(n_off * sizeof(uint32_t));
  job->results = malloc(n ? n : 1);
  if (!job->offsets || !job->results) {
    batch_free(env, job);
    napi_throw_error(env, NULL, "egress-verify: out of memory");
    return NULL;
  }
  /* Copy (Uint32Array data is 4-byte aligned) and validate once, here. */
  memcpy(job->offsets, off_data, n_off * sizeof(uint32_t));
  if (job->offsets[0] != 0) {
    batch_free(env, job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "offsets[0] must be 0");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (job->offsets[i + 1] < job->offsets[i] || job->offsets[i + 1] > msgs_len) {
      batch_free(env, job);
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                            "offsets must be non-decreasing and within the messages buffer");
      return NULL;
    }
  }
  job->key = k;
  job->msgs = msgs;
  job->sigs = sigs;
  job->n = n;

  napi_value name;
  if (napi_create_reference(env, argv[0], 1, &job->key_ref) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &job->msgs_ref) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &job->offs_ref) != napi_ok ||
      napi_create_reference(env, argv[3], 1, &job->sigs_ref) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &job->done_ref) != napi_ok ||
      napi_create_string_utf8(env, "egress-verify:ed25519VerifyBatch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, batch_execute, batch_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    batch_free(env, job);
    napi_throw_error(env, NULL, "egress-verify: could not queue the batch");
    return NULL;
  }
  return NULL;
}

/* Test hooks: the addon's own SHA-512 and reduction mod L, checked against node:crypto and BigInt. */
static napi_value js_sha512(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ab, out;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "data must be a Uint8Array");
    return NULL;
  }
  const uint8_t *data;
  size_t len;
  if (!get_bytes(env, argv[0], "data", &data, &len)) return NULL;
  void *p;
  NAPI_CALL(env, napi_create_arraybuffer(env, 64, &p, &ab));
  /* Feed it in uneven pieces so the buffering paths of update() are exercised too. */
  sha512_ctx c;
  sha512_init(&c);
  size_t pos = 0, step = 1;
  while (pos < len) {
    size_t take = len - pos < step ? len - pos : step;
    sha512_update(&c, data + pos, take);
    pos += take;
    step = step * 3 + 1;
  }
  sha512_final(&c, p);
  NAPI_CALL(env, napi_create_typedarray(env, napi_uint8_array, 64, ab, 0, &out));
  return out;
}

static napi_value js_reduce512(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ab, out;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *data;
  size_t len;
  if (argc < 1 || !get_bytes(env, argv[0], "data", &data, &len)) return NULL;
  if (len != 64) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "data must be 64 bytes");
    return NULL;
  }
  u64 r[4];
  sc_reduce512(data, r);
  void *p;
  NAPI_CALL(env, napi_create_arraybuffer(env, 32, &p, &ab));
  for (int i = 0; i < 4; i++) store_le64((uint8_t *)p + 8 * i, r[i]);
  NAPI_CALL(env, napi_create_typedarray(env, napi_uint8_array, 32, ab, 0, &out));
  return out;
}

NAPI_MODULE_INIT() {
  pthread_once(&init_once, init_tables);
  if (!init_ok) {
    napi_throw_error(env, NULL, "egress-verify: native Ed25519 self-test failed");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"prepareKey", NULL, js_prepare_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verify", NULL, js_verify, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verifyBatch", NULL, js_verify_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"_sha512", NULL, js_sha512, NULL, NULL, NULL, napi_enumerable, NULL},
      {"_reduce512", NULL, js_reduce512, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
