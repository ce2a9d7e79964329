"""Build the docs pages without Quarto and check them in headless Chromium.

    python tools/check_docs.py [--out DIR] [--screenshots DIR] [--strict] [--keep-going]

The docs site is built by `nbdev-docs` (Quarto) in .github/workflows/deploy.yaml; Quarto cannot be
installed where this project is built, so this script checks what it can of the same pipeline here:

1. nbdev's own doc processing, notebook by notebook, exactly as `nbdev-proc-nbs` / `nbdev-docs` run it
   (`nbdev.serve_drv.main` with `nbdev.processors.FilterDefaults`): front matter, `#| hide`, the
   `show_doc` cells nbdev adds after every exported function and class -- and their execution
   (`exec_show_docs`), which runs the export cells, the imports and every cell that contains an import.
   A notebook that fails here fails `nbdev-docs` on GitHub Pages the same way.
2. nbdev's sidebar (`nbdev_sidebar`, as `nbdev-docs` writes `sidebar.yml`): every notebook is listed,
   `index` first, the rest in numeric (= dependency) order.
3. Each processed notebook is rendered to standalone HTML with nbconvert (stored outputs, nothing else is
   executed; images embedded), with a sidebar in that order, plus an index.html listing the pages.
4. Every page is loaded in headless Chromium (`chromium --headless --dump-dom`, Debian package `chromium`)
   and the DOM is checked: for a module page, an API entry (the `### name` heading `show_doc` renders)
   for every function and class in the module's `__all__` (other names in `__all__` must at least be
   mentioned); as many embedded `<img>` figures, with data, as the notebook has visible image outputs; no
   Python traceback; local links point at pages that exist. Public names that no visible code cell uses
   (no example) are reported, and fail the check with `--strict`.
5. Screenshots of index.html and of one API page (postprocess) go to --screenshots.

One line per page is printed; the exit status is 1 when any check fails, with the reasons.
"""
import argparse, contextlib, importlib, io, multiprocessing as mp, os, re, shutil, subprocess, sys
import tempfile, time, warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOT_PAGE = 'postprocess.html'   # the API page that gets a screenshot (falls back to the first module page)
_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_re_exp = re.compile(r'^\s*#\|\s*default_exp\s+(\S+)', re.M)
IMG_MIMES = ('image/png', 'image/jpeg', 'image/svg+xml', 'image/gif')

# ---------------------------------------------------------------------------------------------- 1. nbdev processing
def _proc_one(args):
    "Run nbdev's doc processing on one notebook (in a fresh process, as `proc_nbs` does); return (name, s, error, warnings)"
    src, dst = args
    t = time.time()
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try:
            import nbdev.serve_drv
            from nbdev.processors import FilterDefaults
            with contextlib.redirect_stdout(io.StringIO()): nbdev.serve_drv.main((Path(src), Path(dst), FilterDefaults))
            err = None
        except Exception as e: err = f'{type(e).__name__}: {e}'
    mixed = [next((l for l in str(w.message).split('---')[1].strip().splitlines() if not l.startswith('#|')), '')
             for w in ws if 'imports and other code' in str(w.message) and '---' in str(w.message)]
    return Path(src).name, time.time() - t, err, mixed

def process(stage:Path, nbs:list, workers:int, reuse=False):
    "nbdev-process `nbs` (names in `stage`/nbs) into `stage`/_proc, each notebook in its own process"
    (stage/'_proc').mkdir(exist_ok=True)
    fresh = lambda n: reuse and (stage/'_proc'/n).exists() and (stage/'_proc'/n).stat().st_mtime >= (ROOT/'nbs'/n).stat().st_mtime
    done = {n: (0., None, []) for n in nbs if fresh(n)}
    jobs = [(str(stage/'nbs'/n), str(stage/'_proc'/n)) for n in nbs if n not in done]
    if not jobs: return done
    # a fresh process per notebook: nbdev's CaptureShell replaces `__main__`, and each page gets a clean kernel
    with ProcessPoolExecutor(workers, mp_context=mp.get_context('spawn'), max_tasks_per_child=1) as ex:
        return done | {r[0]: r[1:] for r in ex.map(_proc_one, jobs)}

# ---------------------------------------------------------------------------------------------- 2. sidebar
def sidebar(stage:Path):
    "The notebook names in the order of nbdev's generated sidebar.yml (or a committed custom one)"
    import yaml
    from nbdev.config import get_config
    from nbdev.quarto import nbdev_sidebar
    if get_config().custom_sidebar and (ROOT/'nbs'/'sidebar.yml').exists(): yml = (ROOT/'nbs'/'sidebar.yml').read_text()
    else:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf): nbdev_sidebar.__wrapped__(path=stage/'nbs', printit=True, force=True)
        yml = buf.getvalue()
    def flat(items):
        for o in items:
            if isinstance(o, dict): yield from flat(o.get('contents', [])) if 'contents' in o else [o.get('href') or o.get('file')]
            else: yield o
    return [o for o in flat(yaml.safe_load(yml)['website']['sidebar']['contents']) if o], yml

def sidebar_problems(order, nbs):
    "Why `order` is not: every notebook once, index first, then non-decreasing numeric prefixes"
    probs = []
    if sorted(order) != sorted(nbs): probs.append(f'sidebar lists {sorted(set(order) ^ set(nbs))} differently from nbs/')
    if order and not order[0].startswith('index.'): probs.append(f'sidebar starts with {order[0]}, not index')
    nums = [int(m.group(1)) for o in order if (m := re.match(r'(\d+)_', Path(o).name))]
    if nums != sorted(nums): probs.append(f'sidebar is not in numeric (dependency) order: {order}')
    return probs

# ---------------------------------------------------------------------------------------------- 3. render
def _directives(src):
    "Quarto/nbdev `#|` directives of a cell source, and the source without them"
    d, keep = {}, []
    for l in src.splitlines():
        m = _re_dir.match(l)
        if m and not keep: d[m.group(1)] = m.group(2)
        else: keep.append(l)
    return d, '\n'.join(keep)

def _falsy(v): return str(v).strip().lower() in ('false', 'no', '0')

def _md(s, site):
    "Quarto-only markdown made plain: fenced divs, link attributes; doc-site links made local"
    s = re.sub(r'^:::.*$', '', s, flags=re.M)
    s = re.sub(r'(\]\([^)\s]*\))\{[^}\n]*\}', r'\1', s)
    if site: s = s.replace(site, '')
    return s

def prepare(nb, site):
    "Turn an nbdev-processed notebook into one nbconvert renders like Quarto would: (nb, title, description)"
    import yaml
    front, cells = {}, []
    for c in nb.cells:
        src = c.get('source', '')
        if c.cell_type == 'raw' and src.startswith('---'):
            front = yaml.safe_load(src.strip().strip('-')) or {}; continue
        if c.cell_type == 'markdown':
            c.source = _md(src, site)
            if c.source.strip() and 'WARNING: THIS FILE WAS AUTOGENERATED' not in c.source: cells.append(c)
            continue
        if c.cell_type != 'code': continue
        d, c.source = _directives(src)
        if _falsy(d.get('include', 'true')): continue
        if _falsy(d.get('output', 'true')): c.outputs = []
        c.outputs = [o for o in c.get('outputs', []) if o.get('name') != 'stderr']   # warnings from imports; Quarto shows them, nbdev users hide them
        for o in c.outputs:
            md = o.get('data', {}).get('text/markdown')
            if md is not None: o['data'] = {'text/markdown': _md(''.join(md), site)}   # `output: asis` markdown, e.g. show_doc
        tags = set(c.metadata.get('tags', []))
        if _falsy(d.get('echo', 'true')) or not c.source.strip(): tags.add('remove_input')
        if not c.source.strip() and not c.outputs: continue   # exported cells: nbdev removes their source
        c.metadata['tags'] = sorted(tags)
        cells.append(c)
    title = str(front.get('title', '')); desc = ' '.join(str(front.get('description', '')).split())
    keys = {'code': ('cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count'),
            'markdown': ('cell_type', 'id', 'metadata', 'source', 'attachments')}
    for i, c in enumerate(cells):   # nbdev leaves its own attributes (e.g. `has_sd`) that nbconvert's validation rejects
        for k in [k for k in c if k not in keys[c.cell_type]]: del c[k]
        c.metadata.pop('execution', None)
        c.setdefault('id', f'cell-{i}')
        if c.cell_type == 'code': c.setdefault('execution_count', None)
    nb.cells = cells
    return nb, title, desc, front.get('output-file')

CSS = """<style>
 body{margin:0} #ptx-nav{position:fixed;top:0;left:0;bottom:0;width:210px;overflow:auto;background:#f7f7f9;
  border-right:1px solid #ddd;padding:12px;font:14px/1.5 sans-serif;box-sizing:border-box}
 #ptx-nav a{display:block;color:#2780e3;text-decoration:none;padding:1px 0} #ptx-nav a.active{font-weight:bold;color:#000}
 #ptx-nav .site{font-weight:bold;font-size:16px;margin-bottom:8px} main.ptx-page{margin-left:220px}
 .ptx-desc{font-size:1.15em;color:#555;margin:0 0 1em} .ptx-desc p{margin:0}
</style>"""

def nav(pages, active, site_title):
    links = ''.join(f'<a href="{p["html"]}"{" class=active" if p["html"] == active else ""}>{p["title"]}</a>' for p in pages)
    return f'<nav id="ptx-nav"><div class="site"><a href="index.html">{site_title}</a></div>{links}</nav>'

def render(nb, title, desc):
    "Standalone HTML (lab template, images embedded, no CDN scripts: the check runs offline)"
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    ex = HTMLExporter(template_name='lab', embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True,
                      mathjax_url='', require_js_url='', jquery_url='')   # Quarto shows no prompts either
    trp = TagRemovePreprocessor(remove_input_tags={'remove_input'}, enabled=True)
    ex.register_preprocessor(trp, enabled=True)
    html, _ = ex.from_notebook_node(nb, resources={'metadata': {'name': title}})
    head = f'<h1 class="ptx-title">{title}</h1>' + (f'<div class="ptx-desc">{_inline(desc)}</div>' if desc else '')
    return html, head

def _inline(md):
    "Markdown (titles, descriptions) to HTML"
    import mistune
    return mistune.html(md).strip()

def wrap(html, head, navhtml):
    html = html.replace('</head>', CSS + '</head>', 1)
    m = re.search(r'<body[^>]*>', html)
    return html[:m.end()] + navhtml + '<main class="ptx-page">' + head + html[m.end():].replace('</body>', '</main></body>', 1)

# ---------------------------------------------------------------------------------------------- 4. browser checks
def chromium():
    for c in ('chromium', 'chromium-browser', 'google-chrome'):
        if shutil.which(c): return shutil.which(c)
    sys.exit('check_docs: no Chromium found: install it with `apt-get install -y chromium` (Debian package `chromium`)')

def _chrome(exe, *args, timeout=90):
    cmd = [exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars',
           '--no-first-run', '--disable-extensions', '--mute-audio', *args]
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run(cmd[:1] + [f'--user-data-dir={prof}'] + cmd[1:], capture_output=True, text=True, timeout=timeout)
    return r

def dump_dom(exe, page:Path):
    r = _chrome(exe, '--virtual-time-budget=5000', '--dump-dom', page.as_uri())
    if r.returncode or '<body' not in r.stdout: raise RuntimeError(f'chromium could not load {page}: rc={r.returncode} {r.stderr[-500:]}')
    return r.stdout

def screenshot(exe, page:Path, png:Path, size='1400,1800'):
    r = _chrome(exe, f'--window-size={size}', '--virtual-time-budget=5000', f'--screenshot={png}', page.as_uri())
    if not png.exists() or png.stat().st_size < 5000: raise RuntimeError(f'no screenshot of {page}: {r.stderr[-500:]}')

def api_names(modname):
    "(names needing a show_doc entry, other public names) of `ptx_cascade.<modname>`"
    import inspect
    mod = importlib.import_module(f'ptx_cascade.{modname}')
    entry, other = [], []
    for n in getattr(mod, '__all__', []):
        o = getattr(mod, n, None)
        (entry if (inspect.isclass(o) or inspect.isfunction(o) or callable(o)) and getattr(o, '__module__', None) == mod.__name__
         else other).append(n)
    return entry, other

def check_page(dom, page, out:Path):
    "Failures and notes for one rendered page, from the DOM Chromium built"
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(dom, 'html.parser')
    main = soup.find('main') or soup
    text = main.get_text(' ')
    fails, notes = [], []
    if page['mod']:
        hs = {h.get_text(' ').replace('¶', '').strip(): h for h in main.find_all(['h2', 'h3', 'h4'])}
        # show_doc renders `### name` and then the signature in a code block
        miss = [n for n in page['entry'] if n not in hs or n not in (hs[n].find_next('pre') or hs[n]).get_text()]
        page['missing'] = len(miss)
        if miss: fails.append(f'no API entry (show_doc heading + signature) for {", ".join(miss)}')
        unmentioned = [n for n in page['other'] if not re.search(rf'\b{re.escape(n)}\b', text)]
        if unmentioned: notes.append(f'public names never mentioned: {", ".join(unmentioned)}')
        noex = [n for n in page['entry'] + page['other'] if not re.search(rf'\b{re.escape(n)}\b', page['code'])]
        if noex: page['noexample'] = noex
    imgs = [i for i in main.find_all('img') if re.match(r'data:image/[\w+.-]+;base64,.{200}', i.get('src', ''), re.S)
            or (i.get('src', '') and not i['src'].startswith('data:') and (out/i['src']).is_file())]
    page['figs'] = len(imgs)
    if len(imgs) < page['want_figs']: fails.append(f'{len(imgs)} figures rendered, the notebook has {page["want_figs"]} visible image outputs')
    if 'Traceback (most recent call last)' in text or page['errors']:
        fails.append('Python traceback on the page' + (f' ({page["errors"]} error outputs)' if page['errors'] else ''))
    broken = sorted({a['href'] for a in main.find_all('a', href=True)
                     if re.match(r'^[\w.-]+\.html(#.*)?$', a['href']) and not (out/a['href'].split('#')[0]).is_file()})
    if broken: notes.append(f'links to pages not built (yet): {", ".join(broken)}')
    return fails, notes

# ---------------------------------------------------------------------------------------------- main
def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='_docs_check/site', help='where the HTML pages go (default: _docs_check/site)')
    p.add_argument('--screenshots', default='_docs_check', help='where index.png and the API page screenshot go')
    p.add_argument('--workers', type=int, default=min(4, os.cpu_count() or 1), help='notebooks processed at once')
    p.add_argument('--proc', help='keep the staged notebooks and their nbdev-processed copies here, and reuse those newer than'
                   ' their notebook (default: a temporary folder)')
    p.add_argument('--strict', action='store_true', help='also fail on public names without an example in a code cell')
    a = p.parse_args()
    t0 = time.time()
    warnings.filterwarnings('ignore', category=FutureWarning)   # torch/fastai deprecations on importing the modules
    warnings.filterwarnings('ignore', message='Cell is missing an id field')   # nbdev writes processed cells without ids
    os.environ['PYTHONWARNINGS'] = 'ignore::FutureWarning'   # the same in the processing workers
    out, shots = (ROOT/a.out).resolve(), (ROOT/a.screenshots).resolve()
    shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True); shots.mkdir(parents=True, exist_ok=True)
    exe = chromium()
    import nbformat, yaml
    site = str((yaml.safe_load((ROOT/'nbs'/'nbdev.yml').read_text()) or {}).get('website', {}).get('site-url', '')).rstrip('/') + '/'
    site = site if site != '/' else ''
    nbs = sorted(q.name for q in (ROOT/'nbs').glob('*.ipynb') if not q.name.startswith(('_', '.')))
    failures = []

    with (contextlib.nullcontext(str(Path(a.proc).resolve())) if a.proc else tempfile.TemporaryDirectory(prefix='check_docs.')) as stage:
        # a staged copy: nbdev's config is read from the cwd, and cells that nbdev executes may write files
        stage = Path(stage); stage.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT/'pyproject.toml', stage/'pyproject.toml')
        shutil.rmtree(stage/'nbs', ignore_errors=True)
        shutil.copytree(ROOT/'nbs', stage/'nbs', ignore=shutil.ignore_patterns('.*', '_proc', 'tmp'))
        cwd = os.getcwd(); os.chdir(stage)
        try:
            order, _ = sidebar(stage)
            failures += [f'sidebar: {s}' for s in sidebar_problems(order, nbs)]
            t1 = time.time()
            procd = process(stage, nbs, a.workers, reuse=bool(a.proc))
            t_proc = time.time() - t1
        finally: os.chdir(cwd)
        order = [o for o in order if o in nbs] + [n for n in nbs if n not in order]

        pages = []
        for n in order:
            secs, err, mixed = procd[n]
            srcnb = nbformat.read(ROOT/'nbs'/n, as_version=4)
            m = _re_exp.search('\n'.join(c.source for c in srcnb.cells if c.cell_type == 'code'))
            page = dict(nb=n, mod=m.group(1) if m else None, secs=secs, err=err, mixed=mixed, html=None, title=n,
                        entry=[], other=[], missing=0, figs=0, want_figs=0, errors=0, code='')
            if page['mod']:
                try: page['entry'], page['other'] = api_names(page['mod'])
                except Exception as e: failures.append(f'{n}: cannot import ptx_cascade.{page["mod"]} ({type(e).__name__}: {e}): run nbdev-export')
            if err:
                hint = ('\n    (nbdev runs the export cells and every cell that contains an import, not the others: a cell that'
                        ' imports something and uses names from unexported cells fails -- give the import a cell of its own.'
                        ' Cells mixing imports with other code, up to the failure: '
                        + ' | '.join(f'`{l[:60]}`' for l in mixed) + ')') if mixed else ''
                failures.append(f'{n}: nbdev doc processing failed, so `nbdev-docs` would too:\n    '
                                + err.strip().replace('\n', '\n    ') + hint)
                pages.append(page); continue
            pnb, title, desc, ofile = prepare(nbformat.read(stage/'_proc'/n, as_version=4), site)
            html = ofile or Path(n).with_suffix('.html').name
            page.update(title=title or n, desc=desc, html='home.html' if html == 'index.html' else html, pnb=pnb)   # index.html: the list of pages
            for c in pnb.cells:
                if c.cell_type != 'code': continue
                if 'remove_input' not in c.metadata.get('tags', []): page['code'] += c.source + '\n'
                page['want_figs'] += sum(any(k in o.get('data', {}) for k in IMG_MIMES) for o in c.outputs)
                page['errors'] += sum(o.get('output_type') == 'error' for o in c.outputs)
            pages.append(page)

        site_title = 'ptx_cascade'
        built = [q for q in pages if q['html']]
        for q in built:
            html, head = render(q.pop('pnb'), q['title'], q['desc'])
            (out/q['html']).write_text(wrap(html, head, nav(built, q['html'], site_title)), encoding='utf-8')
        rows = ''.join(f'<li><a href="{q["html"]}">{q["title"]}</a> — {_inline(q.get("desc", "")).removeprefix("<p>").removesuffix("</p>")}</li>' if q['html'] else
                       f'<li>{q["nb"]}: <b>not built</b> (nbdev processing failed)</li>' for q in pages)
        idx = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{site_title} docs (local check)</title>{CSS}</head><body>'
               f'{nav(built, "", site_title)}<main class="ptx-page" style="padding:1em 2em"><h1>{site_title}: docs pages</h1>'
               f'<p>Built by tools/check_docs.py from the notebooks, in nbdev\'s sidebar order.</p><ol>{rows}</ol></main></body></html>')
        (out/'index.html').write_text(idx, encoding='utf-8')

    # 4. the browser
    t2 = time.time()
    sb = [f for f in failures if f.startswith('sidebar:')]
    print(f'sidebar (nbdev_sidebar): {" > ".join(Path(o).stem for o in order)}: ' + ('FAIL' if sb else 'ok, index first then numeric order'))
    print(f'{"page":22s} {"notebook":22s} {"proc s":>6s} {"API":>7s} {"figs":>9s}  result')
    idx_dom = dump_dom(exe, out/'index.html')
    nlinks = len(re.findall(r'<li><a href=', idx_dom))
    if nlinks != len(built): failures.append(f'index.html: {nlinks} page links in the DOM, {len(built)} pages built')
    print(f'{"index.html":22s} {"(generated)":22s} {"":>6s} {"":>7s} {"":>9s}  {"ok" if nlinks == len(built) else "FAIL"}: {nlinks} pages listed')
    for q in pages:
        if not q['html']:
            print(f'{"-":22s} {q["nb"]:22s} {q["secs"]:6.1f} {"":>7s} {"":>9s}  FAIL: nbdev processing failed'); continue
        try: fails, notes = check_page(dump_dom(exe, out/q['html']), q, out)
        except (RuntimeError, subprocess.TimeoutExpired) as e: fails, notes = [f'Chromium: {e}'], []
        if q.get('noexample'):
            (fails if a.strict else notes).append(f'no example in a visible code cell for {", ".join(q["noexample"])}')
        failures += [f'{q["html"]} ({q["nb"]}): {f}' for f in fails]
        api = f'{len(q["entry"]) - q["missing"]}/{len(q["entry"])}' if q['mod'] else '-'
        res = 'FAIL: ' + '; '.join(fails) if fails else 'ok'
        if notes: res += ' (' + '; '.join(notes) + ')'
        print(f'{q["html"]:22s} {q["nb"]:22s} {q["secs"]:6.1f} {api:>7s} {q["figs"]:>4d}/{q["want_figs"]:<4d}  {res}')

    # 5. screenshots
    screenshot(exe, out/'index.html', shots/'index.png', '1400,900')
    api_page = next((q for q in built if q['html'] == SHOT_PAGE), next((q for q in built if q['mod']), None))
    if api_page: screenshot(exe, out/api_page['html'], shots/Path(api_page['html']).with_suffix('.png').name)
    t_end = time.time()
    print(f'\n{len(built)}/{len(pages)} pages built in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}; '
          f'screenshots in {shots.relative_to(ROOT) if shots.is_relative_to(ROOT) else shots}; '
          f'{t_end - t0:.0f} s (nbdev processing {t_proc:.0f} s, browser {t_end - t2:.0f} s)')
    if failures:
        print(f'\nDOCS CHECK FAILED ({len(failures)}):\n' + '\n'.join(f'- {f}' for f in failures))
        sys.exit(1)
    print('docs check passed')

if __name__ == '__main__': main()
