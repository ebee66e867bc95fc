use super::*;
use crate::core::fixtures::random_blocks;
use crate::core::quant::acts::ActFormat;
use crate::core::rng::Rng;

fn quantized(ty: GgmlType, x: &[f32], n: usize, k: usize) -> QActs {
    let mut a = QActs::new();
    a.quantize(ty.act_format().unwrap(), x, n, k).unwrap();
    a
}

/// every available kernel against the reference within the bound; returns the largest
/// err/bound seen.
fn check(ty: GgmlType, w: &[u8], rows: usize, k: usize, x: &QActs) -> f64 {
    let exact = reference(ty, w, rows, k, x).unwrap();
    let bound = error_bound(ty, w, rows, k, x).unwrap();
    let mut worst = 0f64;
    for kernel in kernels(ty) {
        let mut out = vec![f32::NAN; rows * x.n()];
        matmul_with(kernel, ty, w, rows, k, x, &mut out).unwrap();
        for (i, ((&o, &e), &b)) in out.iter().zip(&exact).zip(&bound).enumerate() {
            let err = (o as f64 - e).abs();
            assert!(
                err <= b,
                "{ty} {} {rows}×{k} n={} out {i} (row {}, col {}): {o} vs {e} (err {err:e} > {b:e})",
                kernel.name(),
                x.n(),
                i % rows,
                i / rows
            );
            if b > 0.0 {
                worst = worst.max(err / b);
            }
        }
    }
    worst
}

fn shapes(ty: GgmlType) -> Vec<(usize, usize)> {
    if ty.block_size() == 256 {
        vec![(32, 256), (7, 512), (96, 1536), (576, 1536), (1536, 768)]
    } else {
        vec![(32, 32), (7, 64), (192, 576), (1536, 576), (576, 1536)]
    }
}

#[test]
fn kernels_agree_with_the_reference() {
    let mut rng = Rng::new(7);
    for ty in TYPES {
        let mut worst = 0f64;
        for (s, (rows, k)) in shapes(ty).into_iter().enumerate() {
            let w = random_blocks(ty, rows, k, 100 + s as u64);
            let big = rows * k > 300_000;
            for n in [1, 2, 3, 7, 8, 32] {
                if big && ![1, 7, 32].contains(&n) {
                    continue;
                }
                let scale = [1e-3, 1.0, 30.0][n % 3];
                let x: Vec<f32> = (0..n * k).map(|_| (rng.gauss() * scale) as f32).collect();
                worst = worst.max(check(ty, &w, rows, k, &quantized(ty, &x, n, k)));
            }
        }
        eprintln!("{ty}: largest err/bound {worst:.3}");
    }
}

#[test]
fn kernels_agree_on_edge_activations() {
    for ty in TYPES {
        let (rows, k) = (9, 512);
        let w = random_blocks(ty, rows, k, 3);
        let n = 6;
        let mut rng = Rng::new(5);
        let mut x: Vec<f32> = (0..n * k).map(|_| rng.gauss() as f32).collect();
        // column 0: zero. column 1: one huge value per block next to tiny ones.
        x[..k].fill(0.0);
        for (j, v) in x[k..2 * k].iter_mut().enumerate() {
            *v = if j % 32 == 5 { 1000.0 } else { *v * 1e-6 };
        }
        // column 2: ties on the grid (amax = 127/8 per block, values at half steps).
        for (j, v) in x[2 * k..3 * k].iter_mut().enumerate() {
            *v = if j % 32 == 0 {
                127.0 / 8.0
            } else {
                ((j % 17) as f32 - 8.5) / 8.0
            };
        }
        // column 3: tiny values; column 4: all equal (Σq large: Q8_1's s far from d̂·Σq).
        for v in &mut x[3 * k..4 * k] {
            *v *= 1e-30;
        }
        x[4 * k..5 * k].fill(7.25);
        // column 5: a lone non-zero per 256.
        for (j, v) in x[5 * k..].iter_mut().enumerate() {
            *v = if j % 256 == 100 { -3.0 } else { 0.0 };
        }
        check(ty, &w, rows, k, &quantized(ty, &x, n, k));
    }
}

#[test]
fn scalar_and_avx2_agree_bit_for_bit() {
    if !Kernel::Avx2.is_available() {
        return;
    }
    let mut rng = Rng::new(8);
    for ty in TYPES {
        for (rows, k) in shapes(ty).into_iter().take(4) {
            let w = random_blocks(ty, rows, k, 9);
            for n in [1, 3, 5, 8, 13] {
                let x: Vec<f32> = (0..n * k).map(|_| rng.gauss() as f32).collect();
                let x = quantized(ty, &x, n, k);
                let mut a = vec![0f32; rows * n];
                let mut b = vec![1f32; rows * n];
                matmul_with(Kernel::Scalar, ty, &w, rows, k, &x, &mut a).unwrap();
                matmul_with(Kernel::Avx2, ty, &w, rows, k, &x, &mut b).unwrap();
                for (i, (a, b)) in a.iter().zip(&b).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "{ty} {rows}×{k} n={n} out {i}");
                }
            }
        }
    }
}

#[test]
fn columns_come_out_the_same_in_any_tile() {
    // prefill (many columns) and decode (one) give each column the same bits.
    let mut rng = Rng::new(12);
    for ty in TYPES {
        let (rows, k) = (5, 768);
        let w = random_blocks(ty, rows, k, 13);
        let n = 11;
        let xs: Vec<f32> = (0..n * k).map(|_| rng.gauss() as f32).collect();
        let all = quantized(ty, &xs, n, k);
        for kernel in kernels(ty) {
            let mut out = vec![0f32; rows * n];
            matmul_with(kernel, ty, &w, rows, k, &all, &mut out).unwrap();
            for c in 0..n {
                let one = quantized(ty, &xs[c * k..(c + 1) * k], 1, k);
                let mut o = vec![0f32; rows];
                matmul_with(kernel, ty, &w, rows, k, &one, &mut o).unwrap();
                for r in 0..rows {
                    assert_eq!(
                        o[r].to_bits(),
                        out[c * rows + r].to_bits(),
                        "{ty} {}",
                        kernel.name()
                    );
                }
            }
        }
    }
}

#[test]
fn representable_activations_meet_the_formats_own_dot() {
    // x = 2^e·q with one |q| = 127 in every block of 32 quantizes exactly in every format
    // (d = amax/127 = 2^e, 127/amax = 2^-e; Q8_K's 1/iscale = ∓2^e): then the reference is
    // the format's own dot_row of the same x, and matmul is within the bound of it.
    let mut rng = Rng::new(21);
    for ty in TYPES {
        let (rows, k, n) = (24, 768, 3);
        let w = random_blocks(ty, rows, k, 22);
        let mut xs = vec![0f32; n * k];
        for (j, v) in xs.iter_mut().enumerate() {
            let e = -3 - (j / 256 % 3) as i32;
            let q = if j % 32 == 0 {
                if j % 64 == 0 {
                    127
                } else {
                    -127
                }
            } else {
                (rng.next_u64() % 255) as i32 - 127
            };
            *v = q as f32 * 2f32.powi(e);
        }
        let x = quantized(ty, &xs, n, k);
        let mut xh = vec![0f64; k];
        for c in 0..n {
            x.dequantize(c, &mut xh);
            assert!(
                xh.iter().zip(&xs[c * k..]).all(|(&a, &b)| a == b as f64),
                "{ty}"
            );
        }
        let exact = reference(ty, &w, rows, k, &x).unwrap();
        let bound = error_bound(ty, &w, rows, k, &x).unwrap();
        let rb = w.len() / rows;
        for kernel in kernels(ty) {
            let mut out = vec![0f32; rows * n];
            matmul_with(kernel, ty, &w, rows, k, &x, &mut out).unwrap();
            for c in 0..n {
                for r in 0..rows {
                    let dot = ty
                        .dot_row(&w[r * rb..(r + 1) * rb], &xs[c * k..(c + 1) * k])
                        .unwrap();
                    let i = c * rows + r;
                    assert_eq!(dot, exact[i], "{ty}: the reference is dot_row");
                    let err = (out[i] as f64 - dot).abs();
                    assert!(
                        err <= bound[i],
                        "{ty} {}: {err:e} > {:e}",
                        kernel.name(),
                        bound[i]
                    );
                }
            }
        }
    }
}

#[test]
fn the_bound_is_tight_enough_to_mean_something() {
    // against Σ_j |w_j·x̂_j|, the bound is a few parts per million (Q4_1 also carries
    // Q8_1's s term, about 2^-11 of the minimum's product).
    let mut rng = Rng::new(31);
    for ty in TYPES {
        let (rows, k, n) = (16, 1536, 2);
        let w = random_blocks(ty, rows, k, 32);
        let xs: Vec<f32> = (0..n * k).map(|_| rng.gauss() as f32).collect();
        let x = quantized(ty, &xs, n, k);
        let bound = error_bound(ty, &w, rows, k, &x).unwrap();
        let mut wr = vec![0f32; k];
        let mut xh = vec![0f64; k];
        let rb = w.len() / rows;
        for c in 0..n {
            x.dequantize(c, &mut xh);
            for r in 0..rows {
                ty.dequantize_row(&w[r * rb..(r + 1) * rb], &mut wr)
                    .unwrap();
                let abs: f64 = wr
                    .iter()
                    .zip(&xh)
                    .map(|(&a, &b)| (a as f64 * b).abs())
                    .sum();
                let rel = bound[c * rows + r] / abs;
                let limit = if ty == GgmlType::Q4_1 { 2e-3 } else { 1e-4 };
                assert!(rel < limit, "{ty}: bound / Σ|w x| = {rel:e}");
            }
        }
    }
}

#[test]
fn bad_shapes_and_types_are_errors() {
    let ty = GgmlType::Q4_1;
    let (rows, k) = (3, 64);
    let w = random_blocks(ty, rows, k, 1);
    let x = quantized(ty, &[0.5; 128], 2, k);
    let mut out = vec![0f32; rows * 2];
    assert!(matmul(ty, &w, rows, k, &x, &mut out).is_ok());
    let e = matmul(ty, &w[1..], rows, k, &x, &mut out).unwrap_err();
    assert!(
        matches!(e, Error::Shape(_)) && e.to_string().contains("bytes"),
        "{e}"
    );
    assert!(matmul(ty, &w, rows, k, &x, &mut out[1..]).is_err());
    assert!(matmul(ty, &w, rows, 32, &x, &mut out).is_err());
    assert!(matmul(ty, &w, rows + 1, k, &x, &mut out).is_err());
    let q8 = quantized(GgmlType::Q8_0, &[0.5; 128], 2, k);
    let e = matmul(ty, &w, rows, k, &q8, &mut out).unwrap_err();
    assert!(e.to_string().contains("Q8_1"), "{e}");
    let e = matmul(GgmlType::Q4_0, &w, rows, k, &q8, &mut out).unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e}");
    assert!(matmul(GgmlType::F32, &w, rows, k, &q8, &mut out).is_err());
    #[cfg(not(target_arch = "wasm32"))]
    assert!(matmul_with(Kernel::Simd128, ty, &w, rows, k, &x, &mut out).is_err());
    // no columns, no rows: nothing to do.
    let none = quantized(ty, &[], 0, k);
    assert!(matmul(ty, &w, rows, k, &none, &mut []).is_ok());
    assert!(matmul(ty, &[], 0, k, &x, &mut []).is_ok());
    let k_quant = QActs::new();
    assert_eq!(k_quant.format(), ActFormat::Q8_0);
}

#[test]
fn f16_bits_convert_as_half_does() {
    for h in 0..=u16::MAX {
        let want = half::f16::from_bits(h).to_f32();
        let got = f16_bits_to_f32(h);
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{h:#06x}: {got} vs {want}"
        );
    }
}
