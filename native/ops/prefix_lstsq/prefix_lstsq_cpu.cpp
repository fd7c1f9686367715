// All-prefix least squares, naive CPU reference: the spec for every faster implementation.
//
// For each prompt and each k in 1..n-1, with A = x[:k] (k x d), r = y[:k], q = the query k (x[k] by default):
//   lambda = 0: w = A^+ r through a one-sided Jacobi SVD of A (or of A^T when k < d), pred = q . w
//   lambda > 0: w = (A^T A + lambda I)^{-1} A^T r through Cholesky, pred = q . w
// Backward (g = upstream gradient of pred), lambda = 0, from d(A^+) (Golub & Pereyra):
//   u = A^+T q, v = A^+ u, s = A^+T w, res = r - A w, qperp = q - A^+ A q
//   dA = g (-u w^T + res v^T + s qperp^T),  dr = g u,  dq = g w
// lambda > 0, with M = (A^T A + lambda I)^{-1}, z = M q:  dA = g (res z^T - (A z) w^T),  dr = g A z,  dq = g w
// Cost: O(n * sweeps * k * min(k, d)^2) per prompt (forward); O(n k d^2) more for the backward pass.
// Precision: float64 throughout, whatever the storage type.
#include "prefix_lstsq/prefix_lstsq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace incontext::lstsq {

namespace {

// Thin SVD of the m x c matrix held column-major in `a` (column j at a[j*m .. j*m+m)), by one-sided Jacobi:
// on return the columns of `a` are mutually orthogonal (a = U Sigma) and `v` (c x c, column-major) holds V,
// so that A_original = U Sigma V^T. sigma[j] = norm of column j.
void jacobi_svd(std::vector<double>& a, int64_t m, int64_t c, std::vector<double>& v, std::vector<double>& sigma) {
  v.assign(c * c, 0.0);
  for (int64_t j = 0; j < c; ++j) v[j * c + j] = 1.0;
  const double eps = std::numeric_limits<double>::epsilon();
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < c - 1; ++p) {
      for (int64_t q = p + 1; q < c; ++q) {
        double* ap = &a[p * m];
        double* aq = &a[q * m];
        double alpha = 0, beta = 0, gamma = 0;
        for (int64_t i = 0; i < m; ++i) {
          alpha += ap[i] * ap[i];
          beta += aq[i] * aq[i];
          gamma += ap[i] * aq[i];
        }
        if (gamma == 0.0 || std::abs(gamma) <= eps * std::sqrt(alpha * beta)) continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2.0 * gamma);
        const double t = std::copysign(1.0, zeta) / (std::abs(zeta) + std::sqrt(1.0 + zeta * zeta));
        const double cs = 1.0 / std::sqrt(1.0 + t * t), sn = cs * t;
        for (int64_t i = 0; i < m; ++i) {
          const double x = ap[i], y = aq[i];
          ap[i] = cs * x - sn * y;
          aq[i] = sn * x + cs * y;
        }
        double* vp = &v[p * c];
        double* vq = &v[q * c];
        for (int64_t i = 0; i < c; ++i) {
          const double x = vp[i], y = vq[i];
          vp[i] = cs * x - sn * y;
          vq[i] = sn * x + cs * y;
        }
      }
    }
    if (!rotated) break;
  }
  sigma.assign(c, 0.0);
  for (int64_t j = 0; j < c; ++j) {
    double s = 0;
    for (int64_t i = 0; i < m; ++i) s += a[j * m + i] * a[j * m + i];
    sigma[j] = std::sqrt(s);
  }
}

// The pseudo-inverse of the k x d matrix A (row-major, from x), as a d x k row-major matrix.
void pinv(const std::vector<double>& A, int64_t k, int64_t d, std::vector<double>& P) {
  std::vector<double> a, v, sigma;
  P.assign(d * k, 0.0);
  const double eps = std::numeric_limits<double>::epsilon();
  if (k >= d) {
    // Columns of A (length k): A = U S V^T, A^+ = V S^-1 U^T = sum_j v_j (a_j / s_j^2)^T with a_j = U_j s_j.
    a.resize(d * k);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < d; ++j) a[j * k + i] = A[i * d + j];
    jacobi_svd(a, k, d, v, sigma);
    const double tol = std::max(k, d) * eps * *std::max_element(sigma.begin(), sigma.end());
    for (int64_t j = 0; j < d; ++j) {
      if (sigma[j] <= tol || sigma[j] == 0.0) continue;
      const double inv2 = 1.0 / (sigma[j] * sigma[j]);
      for (int64_t r = 0; r < d; ++r)
        for (int64_t i = 0; i < k; ++i) P[r * k + i] += v[j * d + r] * a[j * k + i] * inv2;
    }
  } else {
    // Columns of A^T (length d): A^T = U' S V'^T, so A = V' S U'^T and A^+ = U' S^-1 V'^T.
    a.resize(k * d);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < d; ++j) a[i * d + j] = A[i * d + j];
    jacobi_svd(a, d, k, v, sigma);
    const double tol = std::max(k, d) * eps * *std::max_element(sigma.begin(), sigma.end());
    for (int64_t j = 0; j < k; ++j) {
      if (sigma[j] <= tol || sigma[j] == 0.0) continue;
      const double inv2 = 1.0 / (sigma[j] * sigma[j]);
      for (int64_t r = 0; r < d; ++r)
        for (int64_t i = 0; i < k; ++i) P[r * k + i] += a[j * d + r] * v[j * k + i] * inv2;
    }
  }
}

// M = (A^T A + lambda I)^{-1} (d x d, row-major) through Cholesky; lambda > 0 makes it positive definite.
void ridge_inverse(const std::vector<double>& A, int64_t k, int64_t d, double lambda, std::vector<double>& M) {
  std::vector<double> L(d * d, 0.0), G(d * d, 0.0);
  for (int64_t r = 0; r < d; ++r)
    for (int64_t c = 0; c <= r; ++c) {
      double s = r == c ? lambda : 0.0;
      for (int64_t i = 0; i < k; ++i) s += A[i * d + r] * A[i * d + c];
      G[r * d + c] = s;
    }
  for (int64_t j = 0; j < d; ++j) {
    double s = G[j * d + j];
    for (int64_t t = 0; t < j; ++t) s -= L[j * d + t] * L[j * d + t];
    L[j * d + j] = std::sqrt(s);
    for (int64_t r = j + 1; r < d; ++r) {
      double u = G[r * d + j];
      for (int64_t t = 0; t < j; ++t) u -= L[r * d + t] * L[j * d + t];
      L[r * d + j] = u / L[j * d + j];
    }
  }
  // Columns of the inverse: solve L L^T m = e_c.
  M.assign(d * d, 0.0);
  std::vector<double> z(d);
  for (int64_t c = 0; c < d; ++c) {
    for (int64_t r = 0; r < d; ++r) {
      double u = r == c ? 1.0 : 0.0;
      for (int64_t t = 0; t < r; ++t) u -= L[r * d + t] * z[t];
      z[r] = u / L[r * d + r];
    }
    for (int64_t r = d - 1; r >= 0; --r) {
      double u = z[r];
      for (int64_t t = r + 1; t < d; ++t) u -= L[t * d + r] * M[t * d + c];
      M[r * d + c] = u / L[r * d + r];
    }
  }
}

// Solve operator for prefix A (k x d): fills S (d x k) such that w = S r. For lambda = 0, S = A^+; for
// lambda > 0, S = M A^T (and M is returned too).
void solve_operator(const std::vector<double>& A, int64_t k, int64_t d, double lambda, std::vector<double>& S,
                    std::vector<double>& M) {
  if (lambda == 0.0) {
    pinv(A, k, d, S);
    return;
  }
  ridge_inverse(A, k, d, lambda, M);
  S.assign(d * k, 0.0);
  for (int64_t r = 0; r < d; ++r)
    for (int64_t i = 0; i < k; ++i) {
      double s = 0;
      for (int64_t c = 0; c < d; ++c) s += M[r * d + c] * A[i * d + c];
      S[r * k + i] = s;
    }
}

}  // namespace

template <class T>
void forward_reference(const FwdParams<T>& p, int64_t b_begin, int64_t b_end) {
  const int64_t n = p.n, d = p.d;
  std::vector<double> A, S, M;
  for (int64_t b = b_begin; b < b_end; ++b) {
    const T* x = p.x + b * n * d;
    const T* qs = (p.q ? p.q : p.x) + b * n * d;
    const T* y = p.y + b * n;
    const double lambda = p.lambda[b];
    T* pred = p.pred + b * n;
    T* wout = p.w ? p.w + b * n * d : nullptr;
    pred[0] = T(0);
    if (wout)
      for (int64_t r = 0; r < d; ++r) wout[r] = T(0);
    for (int64_t k = 1; k < n; ++k) {
      A.assign(x, x + k * d);  // converts to double
      solve_operator(A, k, d, lambda, S, M);
      double out = 0;
      for (int64_t r = 0; r < d; ++r) {
        double w = 0;
        for (int64_t i = 0; i < k; ++i) w += S[r * k + i] * static_cast<double>(y[i]);
        out += static_cast<double>(qs[k * d + r]) * w;
        if (wout) wout[k * d + r] = static_cast<T>(w);
      }
      pred[k] = static_cast<T>(out);
    }
  }
}

template <class T>
void backward_reference(const BwdParams<T>& p, int64_t b_begin, int64_t b_end) {
  const int64_t n = p.n, d = p.d;
  std::vector<double> A, S, M, gx, gy, gq, w, q, u, vv, s, res, qperp, z, Az, Aq;
  for (int64_t b = b_begin; b < b_end; ++b) {
    const T* x = p.x + b * n * d;
    const T* y = p.y + b * n;
    const T* qs = (p.q ? p.q : p.x) + b * n * d;
    const double lambda = p.lambda[b];
    const T* g = p.gpred + b * n;
    gx.assign(n * d, 0.0);
    gq.assign(n * d, 0.0);
    gy.assign(n, 0.0);
    for (int64_t k = 1; k < n; ++k) {
      const double gk = static_cast<double>(g[k]);
      if (gk == 0.0) continue;
      A.assign(x, x + k * d);
      q.assign(qs + k * d, qs + (k + 1) * d);
      solve_operator(A, k, d, lambda, S, M);
      w.assign(d, 0.0);
      for (int64_t r = 0; r < d; ++r)
        for (int64_t i = 0; i < k; ++i) w[r] += S[r * k + i] * static_cast<double>(y[i]);
      res.assign(k, 0.0);
      for (int64_t i = 0; i < k; ++i) {
        double s1 = 0;
        for (int64_t r = 0; r < d; ++r) s1 += A[i * d + r] * w[r];
        res[i] = static_cast<double>(y[i]) - s1;
      }
      if (lambda == 0.0) {
        u.assign(k, 0.0);  // A^+T q
        for (int64_t i = 0; i < k; ++i)
          for (int64_t r = 0; r < d; ++r) u[i] += S[r * k + i] * q[r];
        vv.assign(d, 0.0);  // A^+ u
        for (int64_t r = 0; r < d; ++r)
          for (int64_t i = 0; i < k; ++i) vv[r] += S[r * k + i] * u[i];
        s.assign(k, 0.0);  // A^+T w
        for (int64_t i = 0; i < k; ++i)
          for (int64_t r = 0; r < d; ++r) s[i] += S[r * k + i] * w[r];
        Aq.assign(k, 0.0);
        for (int64_t i = 0; i < k; ++i)
          for (int64_t r = 0; r < d; ++r) Aq[i] += A[i * d + r] * q[r];
        qperp = q;  // q - A^+ A q
        for (int64_t r = 0; r < d; ++r)
          for (int64_t i = 0; i < k; ++i) qperp[r] -= S[r * k + i] * Aq[i];
        for (int64_t i = 0; i < k; ++i) {
          for (int64_t r = 0; r < d; ++r)
            gx[i * d + r] += gk * (-u[i] * w[r] + res[i] * vv[r] + s[i] * qperp[r]);
          gy[i] += gk * u[i];
        }
      } else {
        z.assign(d, 0.0);
        for (int64_t r = 0; r < d; ++r)
          for (int64_t c = 0; c < d; ++c) z[r] += M[r * d + c] * q[c];
        Az.assign(k, 0.0);
        for (int64_t i = 0; i < k; ++i)
          for (int64_t r = 0; r < d; ++r) Az[i] += A[i * d + r] * z[r];
        for (int64_t i = 0; i < k; ++i) {
          for (int64_t r = 0; r < d; ++r) gx[i * d + r] += gk * (res[i] * z[r] - Az[i] * w[r]);
          gy[i] += gk * Az[i];
        }
      }
      for (int64_t r = 0; r < d; ++r) gq[k * d + r] += gk * w[r];
    }
    if (p.gq) {
      for (int64_t e = 0; e < n * d; ++e) p.gq[b * n * d + e] = static_cast<T>(gq[e]);
    } else {  // the queries are the rows of x themselves
      for (int64_t e = 0; e < n * d; ++e) gx[e] += gq[e];
    }
    for (int64_t e = 0; e < n * d; ++e) p.gx[b * n * d + e] = static_cast<T>(gx[e]);
    for (int64_t i = 0; i < n; ++i) p.gy[b * n + i] = static_cast<T>(gy[i]);
  }
}

template void forward_reference<float>(const FwdParams<float>&, int64_t, int64_t);
template void forward_reference<double>(const FwdParams<double>&, int64_t, int64_t);
template void backward_reference<float>(const BwdParams<float>&, int64_t, int64_t);
template void backward_reference<double>(const BwdParams<double>&, int64_t, int64_t);

}  // namespace incontext::lstsq
