//! The Universal Scalability Law, fitted by bounded nonlinear least squares.
//!
//! X(N) = λN / (1 + σ(N − 1) + κN(N − 1)), with σ (contention) and κ
//! (coherency) in [0, 1] and λ (throughput of one client) > 0. The fit is a
//! Levenberg–Marquardt on the throughput residuals with the analytic
//! Jacobian, Marquardt's diagonal scaling (the three parameters differ by
//! seven orders of magnitude) and projection onto the bounds, started from a
//! small grid of (σ, κ) so that a poor start cannot leave it in a bad basin.
//! Matches codahale/usl on its published data set (see the tests).

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Fewest measurements a fit accepts.
pub const MIN_POINTS: usize = 6;

/// A fitted model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Usl {
    pub sigma: f64,
    pub kappa: f64,
    pub lambda: f64,
}

impl Usl {
    /// Throughput at concurrency `n`.
    pub fn throughput(&self, n: f64) -> f64 {
        self.lambda * n / (1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0))
    }

    /// Mean latency at concurrency `n`, by Little's law (R = N / X).
    pub fn latency(&self, n: f64) -> f64 {
        let x = self.throughput(n);
        if x > 0.0 { n / x } else { f64::INFINITY }
    }

    /// Concurrency of peak throughput, ⌊√((1 − σ)/κ)⌋ (unbounded when κ = 0).
    pub fn peak_concurrency(&self) -> f64 {
        if self.kappa <= 0.0 {
            f64::INFINITY
        } else {
            ((1.0 - self.sigma) / self.kappa).sqrt().floor().max(1.0)
        }
    }

    /// Throughput at [`Usl::peak_concurrency`] (λ/σ, the asymptote, when κ = 0).
    pub fn peak_throughput(&self) -> f64 {
        let n = self.peak_concurrency();
        if n.is_finite() {
            self.throughput(n)
        } else if self.sigma > 0.0 {
            self.lambda / self.sigma
        } else {
            f64::INFINITY
        }
    }
}

/// Result of a fit with its quality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    pub model: Usl,
    /// Coefficient of determination of throughput.
    pub r_squared: f64,
    pub iterations: usize,
}

fn sse(m: &Usl, pts: &[(f64, f64)]) -> f64 {
    pts.iter()
        .map(|&(n, x)| (m.throughput(n) - x).powi(2))
        .sum()
}

fn clamp(m: Usl) -> Usl {
    Usl {
        sigma: m.sigma.clamp(0.0, 1.0),
        kappa: m.kappa.clamp(0.0, 1.0),
        lambda: m.lambda.max(1e-12),
    }
}

/// Solve the 3×3 system `a x = b` (Gaussian elimination, partial pivoting).
#[allow(clippy::needless_range_loop)] // index form mirrors the textbook algorithm
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let piv = (col..3).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..3 {
            let f = a[row][col] / a[col][col];
            for k in col..3 {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for i in (0..3).rev() {
        let s: f64 = (i + 1..3).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

fn lm(start: Usl, pts: &[(f64, f64)], amdahl: bool) -> (Usl, f64, usize) {
    let mut m = clamp(start);
    let mut cost = sse(&m, pts);
    let mut mu = 1e-3;
    let mut it = 0;
    while it < 500 {
        it += 1;
        // J^T J and J^T r for parameters (σ, κ, λ)
        let mut jtj = [[0.0; 3]; 3];
        let mut jtr = [0.0; 3];
        for &(n, x) in pts {
            let d = 1.0 + m.sigma * (n - 1.0) + m.kappa * n * (n - 1.0);
            let f = m.lambda * n / d;
            let r = x - f;
            let j = [
                -m.lambda * n * (n - 1.0) / (d * d),
                -m.lambda * n * n * (n - 1.0) / (d * d),
                n / d,
            ];
            for a in 0..3 {
                jtr[a] += j[a] * r;
                for b in 0..3 {
                    jtj[a][b] += j[a] * j[b];
                }
            }
        }
        if amdahl {
            // κ stays 0: its row and column drop out of the normal equations.
            jtr[1] = 0.0;
            jtj[1] = [0.0, 1.0, 0.0];
            jtj[0][1] = 0.0;
            jtj[2][1] = 0.0;
        }
        let mut improved = false;
        for _ in 0..30 {
            let mut a = jtj;
            for (k, row) in a.iter_mut().enumerate() {
                row[k] += mu * jtj[k][k].max(1e-30);
            }
            let Some(step) = solve3(a, jtr) else {
                mu *= 10.0;
                continue;
            };
            let cand = clamp(Usl {
                sigma: m.sigma + step[0],
                kappa: if amdahl { 0.0 } else { m.kappa + step[1] },
                lambda: m.lambda + step[2],
            });
            let c = sse(&cand, pts);
            if c.is_finite() && c < cost {
                let rel = (cost - c) / cost.max(1e-300);
                m = cand;
                cost = c;
                mu = (mu / 3.0).max(1e-12);
                improved = true;
                if rel < 1e-14 {
                    return (m, cost, it);
                }
                break;
            }
            mu *= 4.0;
            if mu > 1e16 {
                break;
            }
        }
        if !improved {
            break;
        }
    }
    (m, cost, it)
}

/// Fit the USL to `(concurrency, throughput)` points.
pub fn fit(points: &[(f64, f64)]) -> Result<Fit, Error> {
    fit_with(points, MIN_POINTS)
}

/// [`fit`] accepting as few as `min_points` measurements (at least three:
/// the model has three parameters). A sweep over replicas has few points,
/// each costly to measure.
pub fn fit_with(points: &[(f64, f64)], min_points: usize) -> Result<Fit, Error> {
    fit_model(points, min_points, false)
}

/// Amdahl's law, the USL with κ = 0: X(N) = λN / (1 + σ(N − 1)). Two
/// parameters, for when the points cannot tell curvature from noise (a
/// three-parameter fit through three points interpolates the noise).
pub fn fit_amdahl(points: &[(f64, f64)], min_points: usize) -> Result<Fit, Error> {
    fit_model(points, min_points, true)
}

fn fit_model(points: &[(f64, f64)], min_points: usize, amdahl: bool) -> Result<Fit, Error> {
    let min_points = min_points.max(3);
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(n, x)| n.is_finite() && x.is_finite() && *n > 0.0 && *x >= 0.0)
        .collect();
    if pts.len() < min_points {
        return Err(Error::Plan(format!(
            "the USL fit needs at least {min_points} measurements (concurrency > 0, throughput >= 0); got {}. Run a sweep with more concurrency levels (ragctl plan sweep --levels 1,2,4,8,16,32)",
            pts.len()
        )));
    }
    let distinct: std::collections::BTreeSet<u64> = pts.iter().map(|p| p.0.to_bits()).collect();
    if distinct.len() < 3 {
        return Err(Error::Plan(
            "the USL fit needs at least 3 different concurrency levels".into(),
        ));
    }
    // λ starts as the best per-client throughput seen at the lowest levels.
    let lambda0 = pts
        .iter()
        .map(|(n, x)| x / n)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let mut best: Option<(Usl, f64, usize)> = None;
    for &s in &[0.0, 0.01, 0.05, 0.2, 0.5] {
        for &k in &[0.0, 1e-5, 1e-4, 1e-3, 1e-2] {
            if amdahl && k > 0.0 {
                continue;
            }
            let r = lm(
                Usl {
                    sigma: s,
                    kappa: k,
                    lambda: lambda0,
                },
                &pts,
                amdahl,
            );
            if best.is_none_or(|b| r.1 < b.1) {
                best = Some(r);
            }
        }
    }
    let (model, cost, iterations) = best.expect("grid is not empty");
    let mean = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let tot: f64 = pts.iter().map(|p| (p.1 - mean).powi(2)).sum();
    Ok(Fit {
        model,
        r_squared: if tot > 0.0 { 1.0 - cost / tot } else { 1.0 },
        iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_linear_systems() {
        let x = solve3(
            [[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]],
            [3.0, 5.0, 5.0],
        )
        .unwrap();
        for (a, b) in x.iter().zip([1.0, 1.0, 1.0]) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!(solve3([[0.0; 3]; 3], [1.0; 3]).is_none());
    }

    #[test]
    fn recovers_exact_parameters() {
        let truth = Usl {
            sigma: 0.05,
            kappa: 0.002,
            lambda: 120.0,
        };
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
            .iter()
            .map(|&n| (n, truth.throughput(n)))
            .collect();
        let f = fit(&pts).unwrap();
        assert!((f.model.sigma - 0.05).abs() < 1e-6, "{f:?}");
        assert!((f.model.kappa - 0.002).abs() < 1e-8, "{f:?}");
        assert!((f.model.lambda - 120.0).abs() < 1e-4, "{f:?}");
    }

    #[test]
    fn too_few_points_is_a_clear_error() {
        let e = fit(&[(1.0, 1.0), (2.0, 2.0)]).unwrap_err();
        assert!(e.to_string().contains("at least 6"), "{e}");
    }

    #[test]
    fn amdahl_keeps_kappa_at_zero() {
        let truth = Usl {
            sigma: 0.1,
            kappa: 0.0,
            lambda: 50.0,
        };
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 3.0]
            .iter()
            .map(|&n| (n, truth.throughput(n)))
            .collect();
        let f = fit_amdahl(&pts, 3).unwrap();
        assert_eq!(f.model.kappa, 0.0);
        assert!((f.model.sigma - 0.1).abs() < 1e-6, "{f:?}");
        assert!((f.model.lambda - 50.0).abs() < 1e-4, "{f:?}");
    }
}
