"""summary.py LINES — the rows of issue 12's table from one run of scripts/bench.sh: each
figure beside its reference measured in the same run, and the ratio (figure / reference).
LINES holds the run's `name value` lines; a row whose names are missing is left out."""
import sys

ROWS = [
    # (what, figure, reference, unit)
    ("z = E·h native exact (avx2)", "native_matvec_avx2_exact_median_ms", "numpy_matvec_f32_median_ms", "ms"),
    ("z = E·h native fast (avx2)", "native_matvec_avx2_fast_median_ms", "numpy_matvec_f32_median_ms", "ms"),
    ("z = E·h wasm Chromium exact", "wasm_chromium_matvec_exact_median_ms", "numpy_matvec_f32_median_ms", "ms"),
    ("z = E·h wasm Chromium exact vs memory floor", "wasm_chromium_matvec_exact_median_ms", "wasm_chromium_memory_floor_median_ms", "ms"),
    ("z = E·h wasm Chromium fast", "wasm_chromium_matvec_fast_median_ms", "numpy_matvec_f32_median_ms", "ms"),
    ("E × 64 native GMAC/s vs one vector (avx2)", "native_many64_avx2_gmacs", "native_one_vector_avx2_fast_gmacs", "GMAC/s"),
    ("E × 64 wasm Chromium GMAC/s vs one vector", "wasm_chromium_many64_gmacs", "wasm_chromium_one_vector_fast_gmacs", "GMAC/s"),
    ("E × 64 wasm Node GMAC/s vs one vector", "wasm_node_many64_gmacs", "wasm_node_one_vector_fast_gmacs", "GMAC/s"),
    ("Gram native (threads)", "native_gram_s", "numpy_gram_eigh_f64_s", "s"),
    ("Gram native, one thread", "native_gram_one_thread_s", "numpy_gram_eigh_f64_s", "s"),
    ("eigen native", "native_eigen_s", "numpy_gram_eigh_f64_s", "s"),
    ("spectrum native", "native_spectrum_s", "numpy_gram_eigh_f64_s", "s"),
    ("spectrum wasm Node, one thread", "wasm_node_spectrum_one_thread_s", "numpy_gram_eigh_f64_s", "s"),
    ("spectrum wasm Chromium, one thread", "wasm_chromium_spectrum_one_thread_s", "numpy_gram_eigh_f64_s", "s"),
    ("spectrum in the page's Workers", "page_spectrum_workers_s", "numpy_gram_eigh_f64_s", "s"),
    ("spectrum in the page's Workers vs one thread", "page_spectrum_workers_s", "wasm_chromium_spectrum_one_thread_s", "s"),
    ("Gemma 3 product (262,144 rows) vs SmolLM2's (49,152), Chromium exact", "two_gemma_product_exact_median_ms", "two_smollm2_product_exact_median_ms", "ms"),
    ("Gemma 3 slider step p95 vs SmolLM2's, Chromium", "two_gemma_slider_step_p95_ms", "two_smollm2_slider_step_p95_ms", "ms"),
    # the 262,144 × 640 embedding (5.9 × the rows and d² × 1.23): against SmolLM2's in the same Workers
    ("spectrum 262144 × 640 in the page's Workers vs 49152 × 576", "spectrum_chromium_median_s", "page_spectrum_workers_s", "s"),
]


def main():
    vals = {}
    for line in open(sys.argv[1], encoding="utf8"):
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            try:
                vals[parts[0]] = float(parts[1])
            except ValueError:
                pass
    print("\n| work | figure | reference (same run) | ratio |\n|---|---|---|---|")
    for what, fig, ref, unit in ROWS:
        if fig in vals and ref in vals and vals[ref] > 0:
            print(f"| {what} | {vals[fig]:.3f} {unit} | {vals[ref]:.3f} {unit} ({ref}) | {vals[fig] / vals[ref]:.2f} |")
    if "page_spectrum_workers" in vals:
        print(f"\nWorkers used by the page: {int(vals['page_spectrum_workers'])}")


main()
