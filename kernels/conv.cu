// im2col / col2im for minigan.kernels (see conv.py for the contract).
// One thread per output element. Column layout:
//   batch_major = 1: cols[n][r][l]      shape (N, C*KH*KW, OH*OW)   (public im2col)
//   batch_major = 0: cols[r][n][l]      shape (C*KH*KW, N*OH*OW)    (conv: one GEMM)
// with r = (c*KH + i)*KW + j and l = oh*OW + ow.
// Each function exists for float (_f32) and double (_f64), stamped out by a macro so that
// NVRTC (CuPy RawKernel) and nvcc both see plain extern "C" names.

#define MINIGAN_IM2COL(T, SUFFIX)                                                          \
extern "C" __global__ void im2col_##SUFFIX(                                                \
    const T* __restrict__ x, T* __restrict__ cols,                                         \
    int N, int C, int H, int W, int KH, int KW, int OH, int OW,                            \
    int sh, int sw, int ph, int pw, int dh, int dw, int batch_major, long long total)      \
{                                                                                          \
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;                      \
    if (idx >= total) return;                                                              \
    long long L = (long long)OH * OW, K = (long long)C * KH * KW;                          \
    long long n, r, l;                                                                     \
    if (batch_major) { l = idx % L; r = (idx / L) % K; n = idx / (L * K); }               \
    else             { l = idx % L; n = (idx / L) % N; r = idx / (L * N); }               \
    int j = (int)(r % KW), i = (int)((r / KW) % KH), c = (int)(r / (KW * KH));             \
    int ow = (int)(l % OW), oh = (int)(l / OW);                                            \
    int h = oh * sh - ph + i * dh, w = ow * sw - pw + j * dw;                              \
    T v = (T)0;                                                                            \
    if (h >= 0 && h < H && w >= 0 && w < W) v = x[((n * C + c) * H + h) * W + w];         \
    cols[idx] = v;                                                                         \
}                                                                                          \
                                                                                           \
extern "C" __global__ void col2im_##SUFFIX(                                                \
    const T* __restrict__ cols, T* __restrict__ x,                                         \
    int N, int C, int H, int W, int KH, int KW, int OH, int OW,                            \
    int sh, int sw, int ph, int pw, int dh, int dw, int batch_major, long long total)      \
{                                                                                          \
    /* Gather: pixel (n, c, h, w) sums every column entry that was copied from it. */      \
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;                      \
    if (idx >= total) return;                                                              \
    int w = (int)(idx % W), h = (int)((idx / W) % H);                                      \
    long long c = (idx / ((long long)W * H)) % C, n = idx / ((long long)W * H * C);        \
    long long L = (long long)OH * OW, K = (long long)C * KH * KW;                          \
    T acc = (T)0;                                                                          \
    for (int i = 0; i < KH; ++i) {                                                         \
        int hh = h + ph - i * dh;             /* = oh * sh when tap i hits row h */        \
        if (hh < 0 || hh % sh != 0) continue;                                              \
        int oh = hh / sh;                                                                  \
        if (oh >= OH) continue;                                                            \
        for (int j = 0; j < KW; ++j) {                                                     \
            int ww = w + pw - j * dw;                                                      \
            if (ww < 0 || ww % sw != 0) continue;                                          \
            int ow = ww / sw;                                                              \
            if (ow >= OW) continue;                                                        \
            long long r = (c * KH + i) * KW + j, l = (long long)oh * OW + ow;              \
            acc += batch_major ? cols[(n * K + r) * L + l] : cols[(r * N + n) * L + l];    \
        }                                                                                  \
    }                                                                                      \
    x[idx] = acc;                                                                          \
}

MINIGAN_IM2COL(float, f32)
MINIGAN_IM2COL(double, f64)
