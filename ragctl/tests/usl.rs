//! The USL fit against codahale/usl's published data and results.

use ragctl::usl::{Usl, fit};

/// codahale/usl `model_test.go`: 32 measurements and the model it fits
/// (σ = 0.02671591, κ = 7.690945e-4, λ = 995.6486, peak N = 35,
/// peak X = 12341.745).
const MEASUREMENTS: [(f64, f64); 32] = [
    (1.0, 955.16),
    (2.0, 1878.91),
    (3.0, 2688.01),
    (4.0, 3548.68),
    (5.0, 4315.54),
    (6.0, 5130.43),
    (7.0, 5931.37),
    (8.0, 6531.08),
    (9.0, 7219.8),
    (10.0, 7867.61),
    (11.0, 8278.71),
    (12.0, 8646.7),
    (13.0, 9047.84),
    (14.0, 9426.55),
    (15.0, 9645.37),
    (16.0, 9897.24),
    (17.0, 10097.6),
    (18.0, 10240.5),
    (19.0, 10532.39),
    (20.0, 10798.52),
    (21.0, 11151.43),
    (22.0, 11518.63),
    (23.0, 11806.0),
    (24.0, 12089.37),
    (25.0, 12075.41),
    (26.0, 12177.29),
    (27.0, 12211.41),
    (28.0, 12158.93),
    (29.0, 12155.27),
    (30.0, 12118.04),
    (31.0, 12140.4),
    (32.0, 12074.39),
];

fn within(actual: f64, expected: f64, rel: f64) -> bool {
    ((actual - expected) / expected).abs() <= rel
}

#[test]
fn matches_codahale_usl_within_one_percent() {
    let f = fit(&MEASUREMENTS).unwrap();
    let m = f.model;
    assert!(within(m.sigma, 0.02671591, 0.01), "sigma {}", m.sigma);
    assert!(within(m.kappa, 7.690945e-4, 0.01), "kappa {}", m.kappa);
    assert!(within(m.lambda, 995.6486, 0.01), "lambda {}", m.lambda);
    assert_eq!(m.peak_concurrency(), 35.0);
    assert!(within(m.peak_throughput(), 12341.745415132369, 0.01));
    assert!(within(m.throughput(20.0), 11063.63312570436, 0.01));
    assert!(within(m.latency(20.0), 0.0018077244276309343, 0.01));
    assert!(f.r_squared > 0.99, "{f:?}");
}

#[test]
fn readme_example_is_contention_limited() {
    // codahale/usl README example (cmd/usl/example.csv): peak near N = 96,
    // about 1884 req/s.
    let pts = [
        (1.0, 65.0),
        (18.0, 996.0),
        (36.0, 1652.0),
        (72.0, 1853.0),
        (108.0, 1829.0),
        (144.0, 1775.0),
        (216.0, 1702.0),
    ];
    let m = fit(&pts).unwrap().model;
    assert!(m.sigma > m.kappa);
    assert!(
        within(m.peak_throughput(), 1883.76, 0.01),
        "{m:?} {}",
        m.peak_throughput()
    );
    assert!(
        (m.peak_concurrency() - 96.0).abs() <= 2.0,
        "{}",
        m.peak_concurrency()
    );
}

#[test]
fn fewer_than_six_points_is_refused() {
    let e = fit(&MEASUREMENTS[..5]).unwrap_err();
    assert!(e.to_string().contains("at least 6"), "{e}");
    assert_eq!(e.code(), "plan");
}

#[test]
fn model_math() {
    let m = Usl {
        sigma: 0.06,
        kappa: 0.06,
        lambda: 40.0,
    };
    assert!((m.throughput(1.0) - 40.0).abs() < 1e-12);
    assert_eq!(m.peak_concurrency(), 3.0);
}
