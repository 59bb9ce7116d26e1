/*
 * rooflens.traces._fastread: the two hot loops of reading large profiles, in C.
 *
 * 1. Scanner: a single-pass scanner for the traceEvents array of a Kineto (PyTorch profiler)
 *    JSON trace (most of this file).
 * 2. sqlite_ints / sqlite_texts: rows of an nsys SQLite export straight into int64 arrays and
 *    interned names, through the SQLite library Python itself uses (found with dlopen, so no
 *    SQLite headers are needed to build).  Python's sqlite3 module makes a tuple of Python
 *    objects per row; for millions of rows that, not SQLite, was the cost.
 *
 * The Kineto scanner:
 *
 * Why native code: a trace of a million kernels is ~2 GB of JSON holding ~15 events per
 * kernel.  Parsing it into Python objects (even only the events rooflens reads) costs ~40 s
 * and would need gigabytes; this scanner validates the JSON once, at C speed, and keeps only
 * the columns rooflens uses, as packed int64/float64 rows in the exact layouts of the
 * pure-Python reader (rooflens/traces/kineto_json.py), which remains the fallback and the
 * reference the tests compare against.
 *
 * Contract (kept in step with kineto_json._collect):
 *   - only objects with "ph": "X" and a category in {kernel, cuda_runtime, cuda_driver,
 *     user_annotation, gpu_memcpy, gpu_memset} become rows; other values are validated and
 *     skipped;
 *   - ts must be present and a number (or numeric string, or boolean), dur likewise or absent
 *     (0); otherwise the event is skipped, as float() failing does in Python;
 *   - integers follow Python's int(): numbers are truncated toward zero, numeric strings are
 *     parsed, true/false are 1/0, anything else takes the field's default;
 *   - names are interned here as their raw (still escaped) JSON bytes; Python decodes each
 *     distinct one once.
 * Input is fed in chunks: feed() consumes whole events and returns where it stopped, so the
 * caller can carry an event cut by the chunk end into the next chunk.  The GIL is released
 * while scanning.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__APPLE__)
#include <xlocale.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h> /* baseline on x86-64: 16 bytes per step in the hot loops */
#endif

/* ---------------------------------------------------------------- growable buffers */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static int buf_grow(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

static void buf_free(Buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- tables (row layouts) */

enum { T_KERNEL, T_LAUNCH, T_RANGE, T_COPY, N_TABLES };
static const int N_INTS[N_TABLES] = {13, 3, 3, 5};
static const char *TABLE_NAMES[N_TABLES] = {"kernel", "launch", "range", "copy"};

/* Column-major: numpy takes each column as it is, without a strided copy. */
#define MAX_INTS 13
typedef struct {
    int64_t *ints[MAX_INTS]; /* N_INTS[t] int64 columns */
    double *ts, *dur;        /* microseconds */
    size_t rows, cap;
} Table;

static int table_push(Table *tb, int n_ints, const int64_t *row, double ts, double dur) {
    if (tb->rows == tb->cap) {
        size_t cap = tb->cap ? tb->cap * 2 : 1024;
        for (int j = 0; j < n_ints; j++) {
            int64_t *col = realloc(tb->ints[j], cap * sizeof(int64_t));
            if (!col) return -1;
            tb->ints[j] = col;
        }
        double *a = realloc(tb->ts, cap * sizeof(double));
        if (!a) return -1;
        tb->ts = a;
        double *b = realloc(tb->dur, cap * sizeof(double));
        if (!b) return -1;
        tb->dur = b;
        tb->cap = cap;
    }
    for (int j = 0; j < n_ints; j++) tb->ints[j][tb->rows] = row[j];
    tb->ts[tb->rows] = ts;
    tb->dur[tb->rows] = dur;
    tb->rows++;
    return 0;
}

static void table_free(Table *tb) {
    for (int j = 0; j < MAX_INTS; j++) {
        free(tb->ints[j]);
        tb->ints[j] = NULL;
    }
    free(tb->ts);
    free(tb->dur);
    tb->ts = tb->dur = NULL;
    tb->rows = tb->cap = 0;
}

/* A column handed to Python without a copy: owns its malloc'd memory, exports it writable. */
typedef struct {
    PyObject_HEAD void *data;
    Py_ssize_t len;
} Column;

static int Column_getbuffer(Column *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data, self->len, 0, flags);
}

static void Column_dealloc(Column *self) {
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyBufferProcs Column_as_buffer = {(getbufferproc)Column_getbuffer, NULL};

static PyTypeObject ColumnType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "rooflens.traces._fastread.Column",
    .tp_basicsize = sizeof(Column),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory of one scanned column (buffer protocol; numpy.frombuffer views it).",
    .tp_dealloc = (destructor)Column_dealloc,
    .tp_as_buffer = &Column_as_buffer,
};

/* Wrap *data (rows of 8 bytes) in a Column, taking ownership; *data is cleared. */
static PyObject *column_of(void **data, size_t rows) {
    size_t len = rows * 8;
    void *mem = realloc(*data, len ? len : 8); /* give back the growth slack */
    if (!mem) mem = *data;
    *data = NULL;
    if (!mem) return PyErr_NoMemory();
    Column *col = PyObject_New(Column, &ColumnType);
    if (!col) {
        free(mem);
        return NULL;
    }
    col->data = mem;
    col->len = (Py_ssize_t)len;
    return (PyObject *)col;
}

/* ---------------------------------------------------------------- string interning */

typedef struct {
    uint64_t hash;
    uint32_t off, len;
    int64_t id; /* -1: empty slot */
} Slot;

typedef struct {
    Slot *slots;
    size_t cap, count;
    Buf arena;   /* raw bytes of every distinct string */
    Buf offsets; /* (uint32 off, uint32 len) per id */
} Interner;

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    /* 8 bytes per step (kernel names run to hundreds of bytes); any decent mix will do */
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n) memcpy(&w, p, n);
    h = (h ^ w) * 0x94D049BB133111EBULL;
    return h ^ (h >> 29);
}

static int interner_resize(Interner *in, size_t cap) {
    Slot *slots = malloc(cap * sizeof(Slot));
    if (!slots) return -1;
    for (size_t i = 0; i < cap; i++) slots[i].id = -1;
    for (size_t i = 0; i < in->cap; i++) {
        if (in->slots[i].id < 0) continue;
        size_t j = in->slots[i].hash & (cap - 1);
        while (slots[j].id >= 0) j = (j + 1) & (cap - 1);
        slots[j] = in->slots[i];
    }
    free(in->slots);
    in->slots = slots;
    in->cap = cap;
    return 0;
}

/* Id of the raw bytes [p, p+n), added when new; -1 when out of memory. */
static int64_t intern(Interner *in, const uint8_t *p, size_t n) {
    if (n > UINT32_MAX || in->arena.len + n > UINT32_MAX) return -1;
    if ((in->count + 1) * 2 > in->cap && interner_resize(in, in->cap ? in->cap * 2 : 1024) < 0)
        return -1;
    uint64_t h = hash_bytes(p, n);
    size_t j = h & (in->cap - 1);
    while (in->slots[j].id >= 0) {
        Slot *s = &in->slots[j];
        if (s->hash == h && s->len == n && (n == 0 || memcmp(in->arena.data + s->off, p, n) == 0))
            return s->id;
        j = (j + 1) & (in->cap - 1);
    }
    if (buf_grow(&in->arena, n) < 0 || buf_grow(&in->offsets, 2 * sizeof(uint32_t)) < 0) return -1;
    uint32_t off = (uint32_t)in->arena.len;
    if (n) memcpy(in->arena.data + off, p, n); /* the arena may still be NULL for "" */
    in->arena.len += n;
    uint32_t pair[2] = {off, (uint32_t)n};
    memcpy(in->offsets.data + in->offsets.len, pair, sizeof pair);
    in->offsets.len += sizeof pair;
    Slot *s = &in->slots[j];
    s->hash = h;
    s->off = off;
    s->len = (uint32_t)n;
    s->id = (int64_t)in->count++;
    return s->id;
}

static void interner_free(Interner *in) {
    free(in->slots);
    in->slots = NULL;
    in->cap = in->count = 0;
    buf_free(&in->arena);
    buf_free(&in->offsets);
}

/* The distinct strings as a list of bytes, in id order; the interner is freed (always). */
static PyObject *take_names(Interner *in) {
    PyObject *names = PyList_New((Py_ssize_t)in->count);
    const uint32_t *pairs = (const uint32_t *)in->offsets.data;
    for (size_t i = 0; names && i < in->count; i++) {
        PyObject *b = PyBytes_FromStringAndSize(in->arena.data + pairs[2 * i], pairs[2 * i + 1]);
        if (!b) {
            Py_CLEAR(names);
            break;
        }
        PyList_SET_ITEM(names, (Py_ssize_t)i, b);
    }
    interner_free(in);
    return names;
}

/* ---------------------------------------------------------------- lexing */

/* Results of the parsing functions. */
#define OK 0
#define MORE (-1) /* the buffer ended inside the value: feed more input */
#define BAD (-2)  /* malformed JSON: see Cursor.err */

typedef struct {
    const uint8_t *p, *end, *base;
    const char *err;
    const uint8_t *err_at;
} Cursor;

static int fail(Cursor *c, const char *why) {
    c->err = why;
    c->err_at = c->p;
    return BAD;
}

static uint8_t WS[256];       /* JSON whitespace */
static uint8_t STR_STOP[256]; /* bytes that end a run of plain string bytes */
static uint8_t STRUCTURAL[256]; /* " { } [ ] */
static locale_t C_LOCALE;

static void init_tables(void) {
    WS[' '] = WS['\t'] = WS['\n'] = WS['\r'] = 1;
    for (int i = 0; i < 0x20; i++) STR_STOP[i] = 1;
    for (int i = 0x80; i < 0x100; i++) STR_STOP[i] = 1;
    STR_STOP['"'] = STR_STOP['\\'] = 1;
    STRUCTURAL['"'] = STRUCTURAL['{'] = STRUCTURAL['}'] = STRUCTURAL['['] = STRUCTURAL[']'] = 1;
}

static inline void skip_ws(Cursor *c) {
    const uint8_t *p = c->p, *end = c->end;
    if (p < end && *p > ' ') return; /* the usual case: no whitespace at all */
    while (p < end && WS[*p]) p++;
    c->p = p;
}

static inline int hexval(uint8_t ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), 0 if invalid, -1 if cut off. */
static int utf8_len(const uint8_t *p, const uint8_t *end) {
    uint8_t b0 = p[0];
    int n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (end - p < n) return -1;
    if (p[1] < lo || p[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

/* First byte at or after p that ends a run of plain string bytes (", \\, < 0x20, >= 0x80). */
static inline const uint8_t *plain_run(const uint8_t *p, const uint8_t *end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space));
        int mask = _mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    while (p < end && !STR_STOP[*p]) p++;
    return p;
}

typedef struct {
    const uint8_t *s; /* raw content, between the quotes */
    size_t n;
    int escaped; /* contains a backslash escape */
} Str;

/* A string at c->p (on the opening quote); validates escapes and UTF-8. */
static int lex_string(Cursor *c, Str *out) {
    const uint8_t *p = c->p + 1, *end = c->end;
    int escaped = 0;
    for (;;) {
        p = plain_run(p, end);
        if (p >= end) return MORE;
        uint8_t ch = *p;
        if (ch == '"') break;
        if (ch == '\\') {
            escaped = 1;
            if (end - p < 2) return MORE;
            uint8_t e = p[1];
            if (e == 'u') {
                if (end - p < 6) return MORE;
                for (int i = 2; i < 6; i++)
                    if (hexval(p[i]) < 0) {
                        c->p = p;
                        return fail(c, "invalid \\u escape in a string");
                    }
                p += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                       e == 'r' || e == 't') {
                p += 2;
            } else {
                c->p = p;
                return fail(c, "invalid escape in a string");
            }
        } else if (ch < 0x20) {
            c->p = p;
            return fail(c, "control character in a string");
        } else {
            int n = utf8_len(p, end);
            if (n < 0) return MORE;
            if (n == 0) {
                c->p = p;
                return fail(c, "string is not valid UTF-8");
            }
            p += n;
        }
    }
    if (out) {
        out->s = c->p + 1;
        out->n = (size_t)(p - (c->p + 1));
        out->escaped = escaped;
    }
    c->p = p + 1;
    return OK;
}

/* Scalar values the event fields need. */
enum { V_NONE, V_INT, V_FLOAT, V_STR, V_TRUE, V_FALSE, V_NULL, V_ARRAY, V_OBJECT };

typedef struct {
    int kind;
    int64_t i; /* V_INT (exact integer literal within int64) */
    double f;  /* V_FLOAT, and V_INT's value as a double */
    Str str;   /* V_STR */
} Val;

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Eight ASCII digits at p?  (Each byte's high nibble is 3 and it is below ':'.) */
static inline int eight_digits(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return ((v & 0xF0F0F0F0F0F0F0F0ULL) |
            (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) == 0x3333333333333333ULL;
}

/* Their value (first digit most significant): pairs, then quads, then all eight. */
static inline uint64_t eight_digit_value(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    v = ((v & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
    v = ((v & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
    return ((v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
}
#endif

/* Decimal digits from p on, accumulated into *mant (wrapping past 19 digits: callers check). */
static inline const uint8_t *digit_run(const uint8_t *p, const uint8_t *end, uint64_t *mant) {
    uint64_t m = *mant;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8 && eight_digits(p)) {
        m = m * 100000000ULL + eight_digit_value(p);
        p += 8;
    }
#endif
    while (p < end && (unsigned)(*p - '0') < 10) {
        m = m * 10 + (uint64_t)(*p - '0');
        p++;
    }
    *mant = m;
    return p;
}

/* Correctly rounded double of a decimal text of at most 64 bytes (C locale). */
static double slow_double(const uint8_t *s, size_t n, int *ok) {
    char tmp[72];
    if (n >= sizeof tmp) {
        *ok = 0;
        return 0;
    }
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *stop;
    errno = 0;
    double v = strtod_l(tmp, &stop, C_LOCALE);
    *ok = stop == tmp + n;
    return v;
}

/* A JSON number at c->p.  Integers within int64 are exact (V_INT); other numbers become
 * doubles, exactly as a correctly rounding parser would (Clinger's fast path, else strtod). */
static int lex_number(Cursor *c, Val *v) {
    const uint8_t *p = c->p, *end = c->end, *start = p;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        if (++p >= end) return MORE;
    }
    uint64_t mant = 0;
    const uint8_t *ds = p;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        p = digit_run(p, end, &mant);
    } else {
        c->p = p;
        return fail(c, "invalid number");
    }
    int frac_digits = 0;
    int is_int = 1;
    if (p < end && *p == '.') {
        is_int = 0;
        const uint8_t *fs = ++p;
        p = digit_run(p, end, &mant);
        frac_digits = (int)(p - fs);
        if (p == fs) {
            if (p >= end) return MORE;
            c->p = p;
            return fail(c, "invalid number");
        }
    }
    /* more than 19 digits may not fit in mant: the slow, exact path then (a leading "0" counts,
     * so a rare "0.<19 digits>" takes it needlessly) */
    int big = (p - ds) - (is_int ? 0 : 1) > 19;
    int exp10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const uint8_t *es = p;
        int eneg = es[-1] == '-';
        while (p < end && *p >= '0' && *p <= '9') {
            if (exp10 < 100000) exp10 = exp10 * 10 + (*p - '0');
            p++;
        }
        if (p == es) {
            if (p >= end) return MORE;
            c->p = p;
            return fail(c, "invalid number");
        }
        if (eneg) exp10 = -exp10;
    }
    if (p >= end) return MORE; /* the number might continue in the next chunk */
    c->p = p;
    size_t n = (size_t)(p - start);
    if (is_int && !big && mant <= (uint64_t)INT64_MAX) {
        v->kind = V_INT;
        v->i = neg ? -(int64_t)mant : (int64_t)mant;
        v->f = (double)v->i;
        if (mant <= (1ULL << 53)) return OK;
        int ok;
        v->f = slow_double(start, n, &ok);
        return OK;
    }
    v->kind = V_FLOAT;
    int e = exp10 - frac_digits;
    if (!big && mant <= (1ULL << 53) && e >= -22 && e <= 22) {
        double d = (double)mant;
        d = e < 0 ? d / POW10[-e] : d * POW10[e];
        v->f = neg ? -d : d;
        return OK;
    }
    int ok;
    v->f = slow_double(start, n, &ok);
    if (!ok) return fail(c, "number too long");
    return OK;
}

static int lex_literal(Cursor *c, const char *word, size_t n) {
    if ((size_t)(c->end - c->p) < n) {
        if (memcmp(c->p, word, (size_t)(c->end - c->p)) == 0) return MORE;
        return fail(c, "invalid literal");
    }
    if (memcmp(c->p, word, n) != 0) return fail(c, "invalid literal");
    c->p += n;
    return OK;
}

static int skip_value(Cursor *c, int depth);

/* A value at c->p (whitespace skipped).  Scalars land in v; arrays and objects are skipped
 * (v->kind says which) unless the caller handles them itself. */
static int lex_value(Cursor *c, Val *v, int depth) {
    skip_ws(c);
    if (c->p >= c->end) return MORE;
    uint8_t ch = *c->p;
    v->kind = V_NONE;
    switch (ch) {
    case '"':
        v->kind = V_STR;
        return lex_string(c, &v->str);
    case 't':
        v->kind = V_TRUE;
        return lex_literal(c, "true", 4);
    case 'f':
        v->kind = V_FALSE;
        return lex_literal(c, "false", 5);
    case 'n':
        v->kind = V_NULL;
        return lex_literal(c, "null", 4);
    case '[':
        v->kind = V_ARRAY;
        return skip_value(c, depth);
    case '{':
        v->kind = V_OBJECT;
        return skip_value(c, depth);
    default:
        if (ch == '-' || (ch >= '0' && ch <= '9')) return lex_number(c, v);
        return fail(c, "unexpected character");
    }
}

#define MAX_DEPTH 512

/* Skip (and validate) one array or object at c->p. */
static int skip_value(Cursor *c, int depth) {
    if (depth > MAX_DEPTH) return fail(c, "nesting too deep");
    uint8_t open = *c->p, close = open == '{' ? '}' : ']';
    c->p++;
    skip_ws(c);
    if (c->p >= c->end) return MORE;
    if (*c->p == close) {
        c->p++;
        return OK;
    }
    for (;;) {
        int r;
        if (open == '{') {
            skip_ws(c);
            if (c->p >= c->end) return MORE;
            if (*c->p != '"') return fail(c, "expected a key");
            if ((r = lex_string(c, NULL)) != OK) return r;
            skip_ws(c);
            if (c->p >= c->end) return MORE;
            if (*c->p != ':') return fail(c, "expected ':'");
            c->p++;
        }
        Val v;
        if ((r = lex_value(c, &v, depth + 1)) != OK) return r;
        skip_ws(c);
        if (c->p >= c->end) return MORE;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == close) {
            c->p++;
            return OK;
        }
        return fail(c, open == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

/* Python's int() of a scalar: the value, or `dflt` where int() would raise. */
static int64_t as_int(const Val *v, int64_t dflt) {
    switch (v->kind) {
    case V_INT:
        return v->i;
    case V_FLOAT:
        if (!isfinite(v->f) || v->f >= 9.2233720368547758e18 || v->f <= -9.2233720368547758e18)
            return dflt;
        return (int64_t)v->f; /* truncation toward zero, like int(float) */
    case V_TRUE:
        return 1;
    case V_FALSE:
        return 0;
    case V_STR: {
        /* int("  -12 ") works in Python; anything else (including "1.5") is a ValueError. */
        const uint8_t *p = v->str.s, *e = p + v->str.n;
        if (v->str.escaped) return dflt;
        while (p < e && WS[*p]) p++;
        while (e > p && WS[e[-1]]) e--;
        int neg = 0;
        if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
        if (p >= e || e - p > 18) return dflt;
        int64_t x = 0;
        for (; p < e; p++) {
            if (*p < '0' || *p > '9') return dflt;
            x = x * 10 + (*p - '0');
        }
        return neg ? -x : x;
    }
    default:
        return dflt;
    }
}

/* Python's float() of a scalar into *out; 0 where float() would raise. */
static int as_float(const Val *v, double *out) {
    switch (v->kind) {
    case V_INT:
    case V_FLOAT:
        *out = v->f;
        return 1;
    case V_TRUE:
        *out = 1.0;
        return 1;
    case V_FALSE:
        *out = 0.0;
        return 1;
    case V_STR: {
        const uint8_t *p = v->str.s, *e = p + v->str.n;
        if (v->str.escaped) return 0;
        while (p < e && WS[*p]) p++;
        while (e > p && WS[e[-1]]) e--;
        if (p >= e) return 0;
        for (const uint8_t *q = p; q < e; q++) /* decimal text only (no hex, no "_") */
            if (!((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' ||
                  *q == '-'))
                return 0;
        int ok;
        *out = slow_double(p, (size_t)(e - p), &ok);
        return ok;
    }
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------- events */

#if defined(__SSE2__)
/* Bit i set where byte i of the 64 at p is '"' / '\\' / '{' or '[' / '}' or ']'. */
static inline void masks64(const uint8_t *p, uint64_t *quote, uint64_t *bslash, uint64_t *open,
                           uint64_t *close) {
    const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'), lower = _mm_set1_epi8(0x20),
                  ob = _mm_set1_epi8('{'), cb = _mm_set1_epi8('}');
    uint64_t mq = 0, mb = 0, mo = 0, mc = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        __m128i xl = _mm_or_si128(x, lower); /* '[' | 0x20 == '{', ']' | 0x20 == '}' */
        mq |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, q)) << (16 * k);
        mb |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, b)) << (16 * k);
        mo |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(xl, ob)) << (16 * k);
        mc |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(xl, cb)) << (16 * k);
    }
    *quote = mq;
    *bslash = mb;
    *open = mo;
    *close = mc;
}

/* Bit i = XOR of bits 0..i: with quote bits in, the bits inside strings (opening quote in). */
static inline uint64_t prefix_xor(uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

static inline int popcount64(uint64_t x) { /* portable: no -mpopcnt needed */
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}
#endif

/* To the end of a string whose opening quote is before p: returns the byte after the closing
 * quote, or NULL when the buffer ends first. */
static inline const uint8_t *string_end(const uint8_t *p, const uint8_t *end) {
    for (;;) {
        p = plain_run(p, end);
        if (p >= end) return NULL;
        if (*p == '"') return p + 1;
        if (*p == '\\') {
            if (end - p < 2) return NULL;
            p += 2;
        } else
            p++;
    }
}

/* From inside an object (between its members), skip to just past its closing brace.  Used for
 * events rooflens does not read (most of a trace): strings and nesting are followed, but the
 * skipped members are not validated further, as a JSON parser would.  64 bytes per step
 * (structural masks, strings found by a prefix XOR of the quotes) while no backslash is near. */
static int skip_rest(Cursor *c) {
    const uint8_t *p = c->p, *end = c->end;
    const uint8_t *bytewise_until = p;
    int depth = 1;
    for (;;) {
#if defined(__SSE2__)
        uint64_t in_str = 0; /* all ones while a string runs across the block boundary */
        while (p >= bytewise_until && end - p >= 64) {
            uint64_t q, bs, op, cl;
            masks64(p, &q, &bs, &op, &cl);
            if (bs) { /* escapes: leave this stretch to the byte-wise loop */
                bytewise_until = p + 64;
                break;
            }
            uint64_t str = prefix_xor(q) ^ in_str;
            op &= ~str;
            cl &= ~str;
            int n_close = popcount64(cl);
            if (n_close >= depth) { /* it may close here: walk the brackets in order */
                for (uint64_t ev = op | cl; ev; ev &= ev - 1) {
                    int i = __builtin_ctzll(ev);
                    if ((cl >> i) & 1) {
                        if (--depth == 0) {
                            c->p = p + i + 1;
                            return OK;
                        }
                    } else if (++depth > MAX_DEPTH) {
                        c->p = p + i;
                        return fail(c, "nesting too deep");
                    }
                }
            } else {
                depth += popcount64(op) - n_close;
                if (depth > MAX_DEPTH) {
                    c->p = p;
                    return fail(c, "nesting too deep");
                }
            }
            in_str = (uint64_t)((int64_t)str >> 63);
            p += 64;
        }
        if (in_str) { /* finish that string first */
            p = string_end(p, end);
            if (!p) return MORE;
        }
        {
            const __m128i q = _mm_set1_epi8('"'), lower = _mm_set1_epi8(0x20),
                          ob = _mm_set1_epi8('{'), cb = _mm_set1_epi8('}');
            while (end - p >= 16) {
                __m128i x = _mm_loadu_si128((const __m128i *)p);
                __m128i xl = _mm_or_si128(x, lower);
                __m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, q),
                                         _mm_or_si128(_mm_cmpeq_epi8(xl, ob), _mm_cmpeq_epi8(xl, cb)));
                int mask = _mm_movemask_epi8(m);
                if (mask) {
                    p += __builtin_ctz((unsigned)mask);
                    goto found;
                }
                p += 16;
            }
        }
#endif
        while (p < end && !STRUCTURAL[*p]) p++;
        if (p >= end) return MORE;
#if defined(__SSE2__)
    found:
#endif
        switch (*p) {
        case '"':
            p = string_end(p + 1, end);
            if (!p) return MORE;
            break;
        case '{':
        case '[':
            if (++depth > MAX_DEPTH) {
                c->p = p;
                return fail(c, "nesting too deep");
            }
            p++;
            break;
        default: /* } ] */
            p++;
            if (--depth == 0) {
                c->p = p;
                return OK;
            }
        }
    }
}

/* Skip one value rooflens does not read: strings and nesting validated, numbers only scanned. */
static int skip_any(Cursor *c, int depth) {
    uint8_t ch = *c->p;
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        const uint8_t *p = c->p + 1;
        while (p < c->end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
                              *p == '+' || *p == '-'))
            p++;
        if (p >= c->end) return MORE;
        c->p = p;
        return OK;
    }
    if (ch == '"') return lex_string(c, NULL);
    Val v;
    return lex_value(c, &v, depth);
}

enum { CAT_OTHER, CAT_KERNEL, CAT_RUNTIME, CAT_DRIVER, CAT_ANNOTATION, CAT_MEMCPY, CAT_MEMSET };

#define KEY_IS(str, lit) ((str).n == sizeof(lit) - 1 && memcmp((str).s, lit, sizeof(lit) - 1) == 0)

static int category(const Str *s) {
    if (KEY_IS(*s, "kernel")) return CAT_KERNEL;
    if (KEY_IS(*s, "cuda_runtime")) return CAT_RUNTIME;
    if (KEY_IS(*s, "cuda_driver")) return CAT_DRIVER;
    if (KEY_IS(*s, "user_annotation")) return CAT_ANNOTATION;
    if (KEY_IS(*s, "gpu_memcpy")) return CAT_MEMCPY;
    if (KEY_IS(*s, "gpu_memset")) return CAT_MEMSET;
    return CAT_OTHER;
}

typedef struct {
    Val v[3];
    int n; /* elements seen (all of them, so that length 3 can be checked) */
    int present;
} Dim3;

typedef struct {
    int is_x, cat;
    Val name, pid, tid, ts, dur;
    int has_name, has_pid, has_tid, has_ts, has_dur;
    /* args */
    Val corr, device, stream, regs, smem, bytes;
    int has_corr, has_device, has_stream, has_regs, has_smem, has_bytes;
    Dim3 grid, block;
} Event;

/* An array value at c->p kept as up to 3 scalars (grid/block). */
static int lex_dim3(Cursor *c, Dim3 *d, int depth) {
    d->n = 0;
    d->present = 1;
    c->p++;
    skip_ws(c);
    if (c->p >= c->end) return MORE;
    if (*c->p == ']') {
        c->p++;
        return OK;
    }
    for (;;) {
        Val extra;
        int r = lex_value(c, d->n < 3 ? &d->v[d->n] : &extra, depth + 1);
        if (r != OK) return r;
        d->n++;
        skip_ws(c);
        if (c->p >= c->end) return MORE;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == ']') {
            c->p++;
            return OK;
        }
        return fail(c, "expected ',' or ']'");
    }
}

/* Walk an object at c->p; for each key call back with the cursor on the value.  Macros keep
 * the two object walkers (event, args) free of function-pointer overhead. */
#define OBJECT_LOOP(c, depth, KEYVAR, BODY)                                                      \
    do {                                                                                         \
        (c)->p++;                                                                                \
        skip_ws(c);                                                                              \
        if ((c)->p >= (c)->end) return MORE;                                                     \
        if (*(c)->p == '}') {                                                                    \
            (c)->p++;                                                                            \
            break;                                                                               \
        }                                                                                        \
        for (;;) {                                                                               \
            int r_;                                                                              \
            skip_ws(c);                                                                          \
            if ((c)->p >= (c)->end) return MORE;                                                 \
            if (*(c)->p != '"') return fail(c, "expected a key");                                \
            Str KEYVAR;                                                                          \
            if ((r_ = lex_string(c, &KEYVAR)) != OK) return r_;                                  \
            skip_ws(c);                                                                          \
            if ((c)->p >= (c)->end) return MORE;                                                 \
            if (*(c)->p != ':') return fail(c, "expected ':'");                                  \
            (c)->p++;                                                                            \
            skip_ws(c);                                                                          \
            if ((c)->p >= (c)->end) return MORE;                                                 \
            BODY                                                                                 \
            if (r_ != OK) return r_;                                                             \
            skip_ws(c);                                                                          \
            if ((c)->p >= (c)->end) return MORE;                                                 \
            if (*(c)->p == ',') {                                                                \
                (c)->p++;                                                                        \
                continue;                                                                        \
            }                                                                                    \
            if (*(c)->p == '}') {                                                                \
                (c)->p++;                                                                        \
                break;                                                                           \
            }                                                                                    \
            return fail(c, "expected ',' or '}'");                                               \
        }                                                                                        \
    } while (0)

#define TAKE(field) \
    do {            \
        r_ = lex_value(c, &ev->field, depth + 1); \
        ev->has_##field = 1; \
    } while (0)

/* Forget the args fields: before an "args" object (a duplicate key: the last one wins, as in a
 * dict), and when "args" is not an object at all. */
static void clear_args(Event *ev) {
    ev->has_corr = ev->has_device = ev->has_stream = ev->has_regs = ev->has_smem = ev->has_bytes = 0;
    ev->grid.present = ev->block.present = 0;
}

static int lex_args(Cursor *c, Event *ev, int depth) {
    if (depth > MAX_DEPTH) return fail(c, "nesting too deep");
    clear_args(ev);
    OBJECT_LOOP(c, depth, key, {
        if (KEY_IS(key, "correlation")) TAKE(corr);
        else if (KEY_IS(key, "device")) TAKE(device);
        else if (KEY_IS(key, "stream")) TAKE(stream);
        else if (KEY_IS(key, "registers per thread")) TAKE(regs);
        else if (KEY_IS(key, "shared memory")) TAKE(smem);
        else if (KEY_IS(key, "bytes")) TAKE(bytes);
        else if ((KEY_IS(key, "grid") || KEY_IS(key, "block")) && *c->p == '[') {
            r_ = lex_dim3(c, key.s[0] == 'g' ? &ev->grid : &ev->block, depth + 1);
        } else {
            r_ = skip_any(c, depth + 1);
            if (KEY_IS(key, "grid")) ev->grid.present = 0;
            else if (KEY_IS(key, "block")) ev->block.present = 0;
        }
    });
    return OK;
}

/* One event object at c->p into *ev. */
static int lex_event(Cursor *c, Event *ev) {
    /* only the flags: the values behind them are written before they are read */
    ev->is_x = ev->cat = 0;
    ev->has_name = ev->has_pid = ev->has_tid = ev->has_ts = ev->has_dur = 0;
    clear_args(ev);
    const int depth = 1;
    OBJECT_LOOP(c, depth, key, {
        if (KEY_IS(key, "ph")) {
            Val v;
            r_ = lex_value(c, &v, depth + 1);
            ev->is_x = v.kind == V_STR && KEY_IS(v.str, "X");
            if (r_ == OK && !ev->is_x) return skip_rest(c);
        } else if (KEY_IS(key, "cat")) {
            Val v;
            r_ = lex_value(c, &v, depth + 1);
            ev->cat = v.kind == V_STR ? category(&v.str) : CAT_OTHER;
            if (r_ == OK && ev->cat == CAT_OTHER) return skip_rest(c); /* not read: no need to parse */
        } else if (KEY_IS(key, "name")) TAKE(name);
        else if (KEY_IS(key, "pid")) TAKE(pid);
        else if (KEY_IS(key, "tid")) TAKE(tid);
        else if (KEY_IS(key, "ts")) TAKE(ts);
        else if (KEY_IS(key, "dur")) TAKE(dur);
        else if (KEY_IS(key, "args") && *c->p == '{') {
            r_ = lex_args(c, ev, depth + 1);
        } else {
            r_ = skip_any(c, depth + 1);
            if (KEY_IS(key, "args")) clear_args(ev); /* not an object: no args */
        }
    });
    return OK;
}

/* ---------------------------------------------------------------- the Scanner object */

typedef struct {
    PyObject_HEAD Table tables[N_TABLES];
    Interner names;
    int state; /* 0: after '[', 1: after an event, 2: after ',', 3: array closed */
    Event ev;  /* scratch (large: kept off the stack of the hot loop) */
    int busy;
} Scanner;

static int64_t opt_int(const Val *v, int present, int64_t dflt) {
    return present ? as_int(v, dflt) : dflt;
}

/* Python: name = ev.get("name", ""), "" when it is not a string (both readers agree). */
static int64_t name_id(Scanner *s, const Event *ev) {
    if (ev->has_name && ev->name.kind == V_STR) return intern(&s->names, ev->name.str.s, ev->name.str.n);
    return intern(&s->names, (const uint8_t *)"", 0);
}

static void dim3_out(const Dim3 *d, int64_t *out) {
    if (!d->present || d->n != 3) {
        out[0] = out[1] = out[2] = 0;
        return;
    }
    for (int i = 0; i < 3; i++) out[i] = as_int(&d->v[i], 0);
}

/* Append the event's row (if it is one rooflens reads); -1 when out of memory. */
static int emit(Scanner *s, const Event *ev) {
    if (!ev->is_x || ev->cat == CAT_OTHER || !ev->has_ts) return 0;
    double ts, dur = 0.0;
    if (!as_float(&ev->ts, &ts)) return 0;
    if (ev->has_dur && !as_float(&ev->dur, &dur)) return 0;
    int t;
    int64_t row[13];
    int64_t pid = opt_int(&ev->pid, ev->has_pid, -1), tid = opt_int(&ev->tid, ev->has_tid, -1);
    switch (ev->cat) {
    case CAT_KERNEL: {
        t = T_KERNEL;
        int64_t id = name_id(s, ev);
        if (id < 0) return -1;
        row[0] = id;
        row[1] = 0; /* short name: filled in by Python per distinct name */
        row[2] = ev->has_device ? as_int(&ev->device, -1) : pid;
        row[3] = ev->has_stream ? as_int(&ev->stream, -1) : tid;
        row[4] = opt_int(&ev->corr, ev->has_corr, -1);
        dim3_out(&ev->grid, row + 5);
        dim3_out(&ev->block, row + 8);
        row[11] = opt_int(&ev->regs, ev->has_regs, 0);
        row[12] = opt_int(&ev->smem, ev->has_smem, 0);
        break;
    }
    case CAT_RUNTIME:
    case CAT_DRIVER:
        t = T_LAUNCH;
        row[0] = opt_int(&ev->corr, ev->has_corr, -1);
        row[1] = pid;
        row[2] = tid;
        break;
    case CAT_ANNOTATION: {
        t = T_RANGE;
        int64_t id = name_id(s, ev);
        if (id < 0) return -1;
        row[0] = id;
        row[1] = pid;
        row[2] = tid;
        break;
    }
    default: /* memcpy / memset */
        t = T_COPY;
        row[0] = ev->has_device ? as_int(&ev->device, -1) : pid;
        row[1] = ev->has_stream ? as_int(&ev->stream, -1) : tid;
        row[2] = opt_int(&ev->corr, ev->has_corr, -1);
        row[3] = opt_int(&ev->bytes, ev->has_bytes, 0);
        row[4] = ev->cat == CAT_MEMSET;
        break;
    }
    return table_push(&s->tables[t], N_INTS[t], row, ts, dur);
}

/* What feed() reports besides the bytes consumed. */
#define ST_MORE 0   /* input ended: feed the rest (from `consumed` on) */
#define ST_CLOSED 1 /* the array's closing ']' is at `consumed` */
#define ST_LIMIT 2  /* the next event starts at `consumed`, at or past the limit */

/* Scan whole events from c->p; *stop is where the unconsumed input begins.  With limit set,
 * stop before the first event that starts at or after it (a parallel worker's end). */
static int scan(Scanner *s, Cursor *c, const uint8_t *limit, const uint8_t **stop, int *status,
                int *oom) {
    *stop = c->p;
    *status = ST_MORE;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end) return OK;
        uint8_t ch = *c->p;
        if (s->state == 1) { /* after an event */
            if (ch == ',') {
                c->p++;
                s->state = 2;
                *stop = c->p;
                continue;
            }
            if (ch == ']') {
                *stop = c->p;
                s->state = 3;
                *status = ST_CLOSED;
                return OK;
            }
            return fail(c, "expected ',' or ']' between events");
        }
        if (ch == ']' && s->state == 0) {
            *stop = c->p;
            s->state = 3;
            *status = ST_CLOSED;
            return OK;
        }
        if (limit && c->p >= limit) {
            *stop = c->p;
            *status = ST_LIMIT;
            return OK;
        }
        const uint8_t *at = c->p;
        int r;
        if (ch == '{') {
            r = lex_event(c, &s->ev);
            if (r == OK) {
                if (emit(s, &s->ev) < 0) {
                    *oom = 1;
                    return BAD;
                }
            }
        } else {
            Val v; /* not an object: Python skips non-dict events too */
            r = lex_value(c, &v, 1);
            if (r == OK && c->p >= c->end) r = MORE; /* a number may go on */
        }
        if (r == MORE) {
            c->p = at;
            return OK;
        }
        if (r != OK) return r;
        s->state = 1;
        *stop = c->p;
    }
}

static PyObject *Scanner_feed(Scanner *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t limit = -1;
    if (!PyArg_ParseTuple(args, "y*|n", &view, &limit)) return NULL;
    if (self->busy || self->state == 3) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_RuntimeError, self->busy ? "Scanner.feed is not reentrant"
                                                       : "the traceEvents array is already closed");
        return NULL;
    }
    self->busy = 1;
    Cursor c = {.p = view.buf, .end = (const uint8_t *)view.buf + view.len, .base = view.buf};
    const uint8_t *stop = c.p, *lim = limit >= 0 ? c.base + limit : NULL;
    int oom = 0, status = ST_MORE, r;
    Py_BEGIN_ALLOW_THREADS
    r = scan(self, &c, lim, &stop, &status, &oom);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    Py_ssize_t consumed = (Py_ssize_t)(stop - c.base);
    Py_ssize_t err_at = c.err_at ? (Py_ssize_t)(c.err_at - c.base) : -1;
    PyBuffer_Release(&view);
    if (oom) return PyErr_NoMemory();
    if (r == BAD) {
        PyObject *exc = Py_BuildValue("(sn)", c.err, err_at);
        if (exc) PyErr_SetObject(PyExc_ValueError, exc);
        Py_XDECREF(exc);
        return NULL;
    }
    return Py_BuildValue("(ni)", consumed, status);
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"mid_array", NULL};
    int mid = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p", kwlist, &mid)) return -1;
    self->state = mid ? 2 : 0;
    return 0;
}

/* (int columns tuple, ts, dur, rows) of one table, handed over; the table is emptied. */
static PyObject *take_table(Table *tb, int n_ints) {
    PyObject *ints = PyTuple_New(n_ints);
    if (!ints) return NULL;
    for (int j = 0; j < n_ints; j++) {
        PyObject *col = column_of((void **)&tb->ints[j], tb->rows);
        if (!col) {
            Py_DECREF(ints);
            return NULL;
        }
        PyTuple_SET_ITEM(ints, j, col);
    }
    size_t rows = tb->rows;
    PyObject *ts = column_of((void **)&tb->ts, rows);
    PyObject *dur = ts ? column_of((void **)&tb->dur, rows) : NULL;
    table_free(tb);
    if (!ts || !dur) {
        Py_DECREF(ints);
        Py_XDECREF(ts);
        return NULL;
    }
    return Py_BuildValue("(NNNn)", ints, ts, dur, (Py_ssize_t)rows);
}

/* Hand over everything scanned: {table: (int columns, ts, dur, rows)}, [raw names]. */
static PyObject *Scanner_take(Scanner *self, PyObject *Py_UNUSED(ignored)) {
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is busy");
        return NULL;
    }
    PyObject *tables = PyDict_New();
    if (!tables) return NULL;
    for (int t = 0; t < N_TABLES; t++) {
        PyObject *tuple = take_table(&self->tables[t], N_INTS[t]);
        if (!tuple || PyDict_SetItemString(tables, TABLE_NAMES[t], tuple) < 0) {
            Py_XDECREF(tuple);
            Py_DECREF(tables);
            return NULL;
        }
        Py_DECREF(tuple);
    }
    PyObject *names = take_names(&self->names);
    if (!names) {
        Py_DECREF(tables);
        return NULL;
    }
    return Py_BuildValue("(NN)", tables, names);
}

static void Scanner_dealloc(Scanner *self) {
    for (int t = 0; t < N_TABLES; t++) table_free(&self->tables[t]);
    interner_free(&self->names);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Scanner_methods[] = {
    {"feed", (PyCFunction)Scanner_feed, METH_VARARGS,
     "feed(buffer, limit=-1) -> (consumed, status): scan the whole events of buffer, which "
     "starts where the previous feed stopped (or just inside the traceEvents array).  status "
     "0: buffer used up, feed again from `consumed`; 1: the array's closing ']' is at "
     "`consumed`; 2: the next event starts at `consumed` >= limit.  Raises "
     "ValueError((reason, offset)) on malformed JSON."},
    {"take", (PyCFunction)Scanner_take, METH_NOARGS,
     "take() -> ({table: ((int64 columns...), ts, dur, n)}, [raw names]): columns as buffers "
     "(int64; ts/dur float64 microseconds), names as their raw JSON bytes (escapes kept); the "
     "scanner is emptied."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "rooflens.traces._fastread.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(mid_array=False): incremental scanner of a Kineto traceEvents array, one "
              "thread at a time; mid_array starts it just after a ',' between events.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

/* ---------------------------------------------------------------- SQLite rows */

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
#define SQ_OK 0
#define SQ_ROW 100
#define SQ_DONE 101
#define SQ_NULL 5
#define SQ_OPEN_READONLY 0x00000001
#define SQ_OPEN_URI 0x00000040
#define SQ_OPEN_NOMUTEX 0x00008000

/* The stable C API functions used, resolved at run time (sqlite_load). */
static struct {
    int (*open_v2)(const char *, sqlite3 **, int, const char *);
    int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
    int (*step)(sqlite3_stmt *);
    long long (*column_int64)(sqlite3_stmt *, int);
    int (*column_type)(sqlite3_stmt *, int);
    const unsigned char *(*column_text)(sqlite3_stmt *, int);
    int (*column_bytes)(sqlite3_stmt *, int);
    int (*finalize)(sqlite3_stmt *);
    int (*close)(sqlite3 *);
    const char *(*errmsg)(sqlite3 *);
} SQ;
static int sq_loaded = 0;

static PyObject *sqlite_load(PyObject *Py_UNUSED(module), PyObject *args) {
    const char *lib;
    if (!PyArg_ParseTuple(args, "s", &lib)) return NULL;
    if (sq_loaded) Py_RETURN_NONE;
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL); /* never closed: used for the process's life */
    if (!h) return PyErr_Format(PyExc_OSError, "cannot load %s: %s", lib, dlerror());
#define SQ_SYM(field, name)                                                     \
    if (!(*(void **)&SQ.field = dlsym(h, name)))                               \
        return PyErr_Format(PyExc_OSError, "%s has no %s", lib, name);
    SQ_SYM(open_v2, "sqlite3_open_v2")
    SQ_SYM(prepare_v2, "sqlite3_prepare_v2")
    SQ_SYM(step, "sqlite3_step")
    SQ_SYM(column_int64, "sqlite3_column_int64")
    SQ_SYM(column_type, "sqlite3_column_type")
    SQ_SYM(column_text, "sqlite3_column_text")
    SQ_SYM(column_bytes, "sqlite3_column_bytes")
    SQ_SYM(finalize, "sqlite3_finalize")
    SQ_SYM(close, "sqlite3_close")
    SQ_SYM(errmsg, "sqlite3_errmsg")
#undef SQ_SYM
    sq_loaded = 1;
    Py_RETURN_NONE;
}

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *st;
    char err[512];
} Query;

/* Open uri read-only on its own connection and prepare sql; -1 with q->err set on failure. */
static int query_open(Query *q, const char *uri, const char *sql) {
    q->db = NULL;
    q->st = NULL;
    q->err[0] = 0;
    if (SQ.open_v2(uri, &q->db, SQ_OPEN_READONLY | SQ_OPEN_URI | SQ_OPEN_NOMUTEX, NULL) != SQ_OK ||
        SQ.prepare_v2(q->db, sql, -1, &q->st, NULL) != SQ_OK) {
        snprintf(q->err, sizeof q->err, "%s", q->db ? SQ.errmsg(q->db) : "cannot open database");
        return -1;
    }
    return 0;
}

static void query_close(Query *q) {
    if (q->st) SQ.finalize(q->st);
    if (q->db) SQ.close(q->db);
}

static PyObject *query_error(Query *q, int oom) {
    if (oom) return PyErr_NoMemory();
    PyErr_SetString(PyExc_ValueError, q->err[0] ? q->err : "SQLite error");
    return NULL;
}

/* Run sql on its own read-only connection, calling row(st, ctx) per result row (which returns
 * -1 when out of memory).  Returns 0, or -1 with q->err set (*oom for memory).  No GIL used. */
typedef int (*RowFn)(sqlite3_stmt *st, void *ctx);

static int run_query(Query *q, const char *uri, const char *sql, RowFn row, void *ctx, int *oom) {
    int bad = 0;
    if (query_open(q, uri, sql) < 0) {
        bad = 1;
    } else {
        int rc;
        while ((rc = SQ.step(q->st)) == SQ_ROW) {
            if (row(q->st, ctx) < 0) {
                bad = *oom = 1;
                break;
            }
        }
        if (!bad && rc != SQ_DONE) {
            snprintf(q->err, sizeof q->err, "%s", SQ.errmsg(q->db));
            bad = 1;
        }
    }
    query_close(q);
    return bad ? -1 : 0;
}

typedef struct {
    Buf out;
    int ncols;
    size_t rows;
} IntRows;

static int int_row(sqlite3_stmt *st, void *ctx) {
    IntRows *r = ctx;
    size_t row_bytes = (size_t)r->ncols * sizeof(int64_t);
    if (buf_grow(&r->out, row_bytes) < 0) return -1;
    int64_t *dst = (int64_t *)(r->out.data + r->out.len);
    for (int j = 0; j < r->ncols; j++) dst[j] = (int64_t)SQ.column_int64(st, j);
    r->out.len += row_bytes;
    r->rows++;
    return 0;
}

/* sqlite_ints(uri, sql, ncols) -> (bytearray of int64 rows, nrows).  NULL reads as 0. */
static PyObject *sqlite_ints(PyObject *Py_UNUSED(module), PyObject *args) {
    const char *uri, *sql;
    IntRows r = {{0}, 0, 0};
    if (!PyArg_ParseTuple(args, "ssi", &uri, &sql, &r.ncols)) return NULL;
    if (!sq_loaded) return PyErr_Format(PyExc_RuntimeError, "sqlite_load() first");
    if (r.ncols < 1 || r.ncols > 64) return PyErr_Format(PyExc_ValueError, "bad ncols %d", r.ncols);
    Query q;
    int oom = 0, bad;
    Py_BEGIN_ALLOW_THREADS
    bad = run_query(&q, uri, sql, int_row, &r, &oom);
    Py_END_ALLOW_THREADS
    if (bad) {
        buf_free(&r.out);
        return query_error(&q, oom);
    }
    PyObject *data = PyByteArray_FromStringAndSize(r.out.data ? r.out.data : "", (Py_ssize_t)r.out.len);
    buf_free(&r.out);
    if (!data) return NULL;
    return Py_BuildValue("(Nn)", data, (Py_ssize_t)r.rows);
}

typedef struct {
    Buf ids;
    Interner names;
} TextRows;

static int text_row(sqlite3_stmt *st, void *ctx) {
    TextRows *r = ctx;
    int64_t id = -1;
    if (SQ.column_type(st, 0) != SQ_NULL) {
        const unsigned char *text = SQ.column_text(st, 0);
        id = intern(&r->names, text ? text : (const unsigned char *)"",
                    text ? (size_t)SQ.column_bytes(st, 0) : 0);
        if (id < 0) return -1;
    }
    if (buf_grow(&r->ids, sizeof id) < 0) return -1;
    memcpy(r->ids.data + r->ids.len, &id, sizeof id);
    r->ids.len += sizeof id;
    return 0;
}

/* sqlite_texts(uri, sql) -> (bytearray of int64 ids, [distinct texts as bytes]): the first
 * column of every row, interned; NULL is id -1. */
static PyObject *sqlite_texts(PyObject *Py_UNUSED(module), PyObject *args) {
    const char *uri, *sql;
    if (!PyArg_ParseTuple(args, "ss", &uri, &sql)) return NULL;
    if (!sq_loaded) return PyErr_Format(PyExc_RuntimeError, "sqlite_load() first");
    Query q;
    TextRows r;
    memset(&r, 0, sizeof r);
    int oom = 0, bad;
    Py_BEGIN_ALLOW_THREADS
    bad = run_query(&q, uri, sql, text_row, &r, &oom);
    Py_END_ALLOW_THREADS
    if (bad) {
        buf_free(&r.ids);
        interner_free(&r.names);
        return query_error(&q, oom);
    }
    PyObject *data = PyByteArray_FromStringAndSize(r.ids.data ? r.ids.data : "", (Py_ssize_t)r.ids.len);
    buf_free(&r.ids);
    PyObject *names = data ? take_names(&r.names) : NULL;
    if (!names) {
        interner_free(&r.names); /* a no-op when take_names ran */
        Py_XDECREF(data);
        return NULL;
    }
    return Py_BuildValue("(NN)", data, names);
}

static PyMethodDef module_methods[] = {
    {"sqlite_load", sqlite_load, METH_VARARGS,
     "sqlite_load(library): resolve the SQLite C API from a shared object (the one Python's "
     "_sqlite3 module is, or links to)."},
    {"sqlite_ints", sqlite_ints, METH_VARARGS,
     "sqlite_ints(uri, sql, ncols) -> (bytearray, nrows): the query's rows as int64, row-major "
     "(NULL is 0); ValueError with SQLite's message on failure.  Releases the GIL."},
    {"sqlite_texts", sqlite_texts, METH_VARARGS,
     "sqlite_texts(uri, sql) -> (bytearray of int64 ids, [bytes]): the first column interned, "
     "NULL as -1.  Releases the GIL."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_fastread",
    "Hot loops of the trace readers in C (see rooflens.traces.kineto_scan, nsys_sqlite).", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastread(void) {
    init_tables();
    C_LOCALE = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!C_LOCALE) return PyErr_NoMemory();
    if (PyType_Ready(&ScannerType) < 0 || PyType_Ready(&ColumnType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
