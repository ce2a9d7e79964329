"""Check issue 12's goals on the `metrics.json` of `ptx_demo` runs, and print one Markdown table row per run.

    python bench/demo_goals.py /tmp/demo_s0 /tmp/demo_s1 /tmp/demo_s2 [--time-log /tmp/demo_s0.log ...]

Goals (on the held-out test films): classifier ROC AUC >= 0.90; a gate chosen (`cls_thresh` not None); cascade
kaggle_dice >= segmenter_only + 0.01 and >= all_empty + 0.08; segmented_fraction <= 0.5; gated faster than ungated
(identical output is asserted by `demo_predict` itself); wall time <= 10 min (from `/usr/bin/time -v` logs if given).
"""
import argparse, json, re
from pathlib import Path

p = argparse.ArgumentParser(); p.add_argument('dests', nargs='+'); p.add_argument('--time-log', nargs='*', default=[])
a = p.parse_args()
logs = dict(zip(a.dests, a.time_log))
print('| seed | cascade | segmenter alone | baseline | all-empty | classifier AUC (test) | gate | segmented | '
      'predict s gated / ungated | wall | peak RSS | goals |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|')
for d in a.dests:
    m = json.loads((Path(d)/'metrics.json').read_text())
    k = lambda s: m[s]['kaggle_dice']
    g = m['gate']
    wall, rss = m['time_s'], None
    if d in logs and Path(logs[d]).is_file():
        t = Path(logs[d]).read_text()
        if w := re.search(r'Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)', t):
            wall = int(w[1] or 0)*3600 + int(w[2])*60 + float(w[3])
        if r := re.search(r'Maximum resident set size \(kbytes\): (\d+)', t): rss = int(r[1]) / 1024**2
    goals = {'AUC>=0.90': m['classifier']['roc_auc'] >= 0.90, 'gate': g['cls_thresh'] is not None,
             'seg+0.01': k('cascade') >= k('segmenter_only') + 0.01, 'floor+0.08': k('cascade') >= k('all_empty') + 0.08,
             'half': g['segmented_fraction'] <= 0.5, 'faster': g['seconds_gated'] < g['seconds_ungated'],
             '<=10min': wall <= 600}
    fails = [n for n, ok in goals.items() if not ok]
    print(f"| {m['config']['seed']} | **{k('cascade'):.4f}** | {k('segmenter_only'):.4f} | {k('baseline'):.4f} | "
          f"{k('all_empty'):.4f} | {m['classifier']['roc_auc']:.3f} | {g['cls_thresh']} | "
          f"{g['segmented_fraction']:.0%} | {g['seconds_gated']:.1f} / {g['seconds_ungated']:.1f} | {wall/60:.1f} min | "
          f"{'' if rss is None else f'{rss:.1f} GB'} | {'all met' if not fails else 'FAILED: ' + ', '.join(fails)} |")
