//! The SVG layout's promises, checked over real fixtures, generated graphs and the
//! 1,000-stage fan-in: boxes never overlap and hold their text, waves are columns left to
//! right, every edge runs from its source's box to its target's and through no box, group
//! boxes hold their stages and no other, labels overlap nothing, and the same graph gives
//! the same picture.

use super::layout::{layout, Layout, Path, Rect, Seg, CHAR_W, LINE_H, MAX_CHARS};
use super::*;
use crate::includes::DirLoader;
use crate::options::BuildOptions;
use crate::pipeline::prepare_with;

/// The graph of `text`, `INCLUDE`s read from `dir`.
fn graph_in(text: &str, dir: &std::path::Path) -> Graph {
    let opts = BuildOptions::new(crate::platform::Platform::linux_amd64());
    match prepare_with(text, "Dockerfile", &opts, &DirLoader(dir.to_path_buf())) {
        Ok(p) => Graph::build(&p),
        Err((e, _)) => panic!("fixture does not prepare: {e}"),
    }
}

/// The graph of a file in `testdata/llb/`.
fn fixture(name: &str) -> Graph {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/llb");
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    graph_in(&text, &dir)
}

/// scripts/fan-in.sh's Dockerfile of `n` stages (the benchmark's).
fn fan_in(n: usize) -> Graph {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "FROM busybox:local AS s{i}\nENV V{i}=x{i}\nWORKDIR /w{i}\n"
        ));
    }
    let groups = n.div_ceil(100);
    for g in 0..groups {
        text.push_str(&format!("FROM busybox:local AS g{g}\n"));
        for i in g * 100..n.min((g + 1) * 100) {
            text.push_str(&format!("COPY --from=s{i} /w{i} /out/w{i}\n"));
        }
    }
    text.push_str("FROM busybox:local\n");
    for g in 0..groups {
        text.push_str(&format!("COPY --from=g{g} /out /out\n"));
    }
    graph_in(&text, std::path::Path::new("."))
}

/// A generated graph of `n` stages: edges of every kind, many spanning several waves,
/// stages of `groups` included files scattered over the waves, long names and checks
/// (with XML's special characters), some stages unneeded, optionally timed.
fn generated(n: usize, seed: u64, groups: usize, timed: bool) -> Graph {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut rng = move |m: usize| -> usize {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % m.max(1)
    };
    let kinds = [
        EdgeKind::From,
        EdgeKind::Copy,
        EdgeKind::Mount,
        EdgeKind::Onbuild,
    ];
    let mut g = Graph {
        nodes: Vec::new(),
        edges: Vec::new(),
        groups: (0..groups)
            .map(|k| Group {
                file: format!("lib/part-{k}-with-a-rather-long-file-name.inc"),
                nodes: Vec::new(),
            })
            .collect(),
        target: n - 1,
        waves: Vec::new(),
        longest: Vec::new(),
        timed,
        measured: None,
    };
    for i in 0..n {
        let group = (groups > 0 && rng(3) == 0).then(|| rng(groups));
        if let Some(k) = group {
            g.groups[k].nodes.push(i);
        }
        let name = if rng(7) == 0 {
            format!("stage-{i}-with-a-name-longer-than-any-box-should-be")
        } else {
            format!("st{i}")
        };
        let checks = if rng(5) == 0 {
            vec![format!(
                "CHECK test \"$(cat /out/{i})\" = '<ok & fine>' && curl -fsS http://localhost/health"
            )]
        } else {
            Vec::new()
        };
        g.nodes.push(Node {
            id: format!("s{i}"),
            name: name.clone(),
            label: name,
            args: Vec::new(),
            base: BaseLabel {
                kind: BaseKind::Image,
                text: if rng(4) == 0 {
                    "registry.example.com:5000/team/project/builder@sha256:0123456789abcdef"
                        .to_owned()
                } else {
                    "busybox:local".to_owned()
                },
            },
            steps: rng(9),
            checks,
            images: Vec::new(),
            group,
            needed: i == n - 1 || rng(4) != 0,
            replaced: false,
            wave: 0,
            file: "Dockerfile".to_owned(),
            line: i as u32 + 1,
            duration_ms: timed.then(|| rng(90_000) as u64),
        });
        if i > 0 {
            for _ in 0..rng(3) + usize::from(i == n - 1) {
                // Mostly recent stages, sometimes one far back (a long edge).
                let from = if rng(4) == 0 {
                    rng(i)
                } else {
                    i - 1 - rng(i.min(6))
                };
                let kind = kinds[rng(4)];
                if !g
                    .edges
                    .iter()
                    .any(|e| (e.from, e.to, e.kind) == (from, i, kind))
                {
                    g.edges.push(Edge { from, to: i, kind });
                }
            }
        }
    }
    g.assign_waves();
    g.longest = g.longest_chain();
    g
}

/// The box rectangles.
fn rects(l: &Layout) -> Vec<Rect> {
    l.nodes.iter().map(|b| b.rect).collect()
}

/// Points along a path, every few pixels.
fn samples(p: &Path) -> Vec<(f64, f64)> {
    let mut out = vec![p.start];
    let mut at = p.start;
    for s in &p.segs {
        let (a, b, c, d) = match *s {
            Seg::Line(e) => (at, at, e, e),
            Seg::Cubic(c1, c2, e) => (at, c1, c2, e),
        };
        let steps = 48;
        for k in 1..=steps {
            let t = k as f64 / steps as f64;
            let u = 1.0 - t;
            let x =
                u * u * u * a.0 + 3.0 * u * u * t * b.0 + 3.0 * u * t * t * c.0 + t * t * t * d.0;
            let y =
                u * u * u * a.1 + 3.0 * u * u * t * b.1 + 3.0 * u * t * t * c.1 + t * t * t * d.1;
            out.push((x, y));
        }
        at = d;
    }
    out
}

/// Every promise of the layout, for `g`.
fn check(g: &Graph) {
    let l = layout(g);
    let boxes = rects(&l);
    let n = g.nodes.len();
    let page = Rect {
        x: 0.0,
        y: l.top,
        w: l.size.0,
        h: l.size.1 - l.top,
    };
    // Boxes: on the page, below the labels, apart, big enough for their text.
    for (i, b) in l.nodes.iter().enumerate() {
        assert!(page.contains(&b.rect), "box {i} {:?} off the page", b.rect);
        let widest = b
            .lines
            .iter()
            .map(|t| t.text.chars().count())
            .max()
            .unwrap_or(0);
        assert!(
            widest <= MAX_CHARS,
            "box {i}: a line of {widest} characters"
        );
        assert!(
            widest as f64 * CHAR_W + 16.0 <= b.rect.w + 1e-9,
            "box {i}: text wider than it"
        );
        assert!(
            b.lines.len() as f64 * LINE_H + 12.0 <= b.rect.h + 1e-9,
            "box {i}: text taller"
        );
        assert_eq!(b.full, text_lines(g, i));
        for (t, full) in b.lines.iter().zip(&b.full) {
            if t.cut {
                let kept = t.text.trim_end_matches('…');
                assert!(
                    t.text.ends_with('…') && full.starts_with(kept),
                    "{t:?} of {full}"
                );
            } else {
                assert_eq!(&t.text, full);
            }
        }
    }
    let mut by_x: Vec<usize> = (0..n).collect();
    by_x.sort_by(|&a, &b| boxes[a].x.total_cmp(&boxes[b].x));
    for (k, &a) in by_x.iter().enumerate() {
        for &b in &by_x[k + 1..] {
            if boxes[b].x >= boxes[a].right() {
                break;
            }
            assert!(!boxes[a].overlaps(&boxes[b]), "boxes {a} and {b} overlap");
        }
    }
    // Waves: columns left to right, each box inside its wave's band, bands apart.
    assert_eq!(l.waves.len(), g.waves.len());
    for (w, band) in l.waves.iter().enumerate() {
        for &i in &g.waves[w] {
            assert!(
                band.x <= boxes[i].x && boxes[i].right() <= band.right,
                "{i} off wave {w}"
            );
        }
        assert!(band.label.chars().count() as f64 * CHAR_W <= band.right - band.x + 1e-9);
        if w > 0 {
            assert!(
                l.waves[w - 1].right < band.x,
                "wave {w} does not start right of {}",
                w - 1
            );
        }
    }
    // Edges: from the source box's right side to the target box's left side, continuous,
    // through no box.
    for (e, edge) in g.edges.iter().enumerate() {
        let p = l.edge_path(e);
        let (s, t) = (boxes[edge.from], boxes[edge.to]);
        assert!(
            p.start.0 == s.right() && s.y < p.start.1 && p.start.1 < s.bottom(),
            "edge {e} start"
        );
        let end = p.end();
        assert!(
            end.0 == t.x && t.y < end.1 && end.1 < t.bottom(),
            "edge {e} end {end:?} {t:?}"
        );
        for pair in l.routes[e].windows(2) {
            let (a, b) = (&l.links[pair[0]], &l.links[pair[1]]);
            assert_eq!(a.path.end(), b.path.start, "edge {e} breaks");
            assert_eq!(a.kind, edge.kind);
        }
    }
    let columns: Vec<Vec<usize>> = l
        .columns
        .iter()
        .map(|&(x, w)| {
            (0..n)
                .filter(|&i| x <= boxes[i].x && boxes[i].right() <= x + w)
                .collect()
        })
        .collect();
    assert_eq!(
        columns.iter().map(Vec::len).sum::<usize>(),
        n,
        "a box outside every column"
    );
    for (k, link) in l.links.iter().enumerate() {
        for pt in samples(&link.path) {
            // Only columns hold boxes; between them the point is in a gap.
            let col = l
                .columns
                .iter()
                .position(|&(x, w)| x <= pt.0 && pt.0 <= x + w);
            for &i in col.map_or(&[][..], |c| &columns[c][..]) {
                assert!(
                    !boxes[i].holds(pt),
                    "link {k} runs through box {i} at {pt:?}"
                );
            }
        }
    }
    // Groups: each member inside a box of its group; group boxes hold no other stage and
    // meet no other group's; labels inside their box, clear of every stage.
    for (gi, group) in g.groups.iter().enumerate() {
        for &i in &group.nodes {
            assert!(
                l.groups
                    .iter()
                    .any(|b| b.group == gi && b.rect.contains(&boxes[i])),
                "stage {i} of group {gi} outside its boxes"
            );
        }
    }
    for (k, gb) in l.groups.iter().enumerate() {
        assert!(
            gb.rect.contains(&gb.label_rect),
            "group label outside its box"
        );
        for (i, b) in boxes.iter().enumerate() {
            if g.nodes[i].group != Some(gb.group) {
                assert!(
                    !gb.rect.overlaps(b),
                    "group {} box covers stage {i}",
                    gb.group
                );
            }
            assert!(
                !gb.label_rect.overlaps(b),
                "group {} label on stage {i}",
                gb.group
            );
        }
        for other in &l.groups[k + 1..] {
            assert!(
                other.group == gb.group || !gb.rect.overlaps(&other.rect),
                "groups {} and {} overlap",
                gb.group,
                other.group
            );
        }
    }
    // The same graph, the same picture.
    assert_eq!(svg::render(g), svg::render(&g.clone()));
}

#[test]
fn fixtures_keep_every_promise() {
    for name in [
        "for.Dockerfile",
        "include.Dockerfile",
        "param-stages.Dockerfile",
        "onbuild-stage.Dockerfile",
        "run-mounts.Dockerfile",
        "check.Dockerfile",
        "multistage.Dockerfile",
        "single-stage.Dockerfile",
    ] {
        check(&fixture(name));
    }
}

#[test]
fn generated_graphs_keep_every_promise() {
    for seed in 0..12 {
        check(&generated(
            40 + 10 * seed as usize,
            seed,
            (seed % 4) as usize,
            seed % 3 == 0,
        ));
    }
    // Big enough that waves wrap into sub-columns, with long edges and groups across them.
    let g = generated(400, 99, 3, false);
    let wide = g
        .waves
        .iter()
        .filter(|w| w.len() > super::order::WRAP)
        .count();
    assert!(wide >= 2, "{wide} waves wrap");
    assert!(g
        .edges
        .iter()
        .any(|e| g.nodes[e.to].wave > g.nodes[e.from].wave + 2));
    check(&g);
}

#[test]
fn a_thousand_stages_keep_every_promise() {
    let g = fan_in(1000);
    assert_eq!(g.waves[0].len(), 1000);
    check(&g);
    // The wave of 1,000 is wrapped: the picture is not one column of 1,000 boxes.
    let l = layout(&g);
    let (w, h) = l.size;
    assert!(h < 4.0 * w, "{w} x {h}: too tall");
    assert!(l.columns.len() > 10, "{} columns", l.columns.len());
}

#[test]
fn order_avoids_a_crossing_file_order_makes() {
    // File order puts c (from b) above d (from a): drawn in file order they cross.
    let g = graph_in(
        "FROM busybox AS a\nFROM busybox AS b\nFROM b AS c\nFROM a AS d\n\
         FROM scratch\nCOPY --from=c / /c\nCOPY --from=d / /d\n",
        std::path::Path::new("."),
    );
    let l = layout(&g);
    let y = |i: usize| l.nodes[i].rect.y;
    assert_eq!(
        y(0) < y(1),
        y(3) < y(2),
        "a/b and d/c in opposite orders: a crossing"
    );
}

#[test]
fn group_stages_stay_together() {
    // The included file's stages are first and last in file order; in its column they
    // still sit side by side with one box around them.
    let dir = std::env::temp_dir().join(format!("strata-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("lib.inc"),
        "FROM busybox AS x\nFROM busybox AS y\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let g = graph_in(
        "FROM busybox AS a\nINCLUDE lib.inc\nFROM busybox AS b\n\
         FROM scratch\nCOPY --from=a / /a\nCOPY --from=x / /x\nCOPY --from=b / /b\nCOPY --from=y / /y\n",
        &dir,
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(g.groups.len(), 1);
    let l = layout(&g);
    let boxes: Vec<_> = l.groups.iter().filter(|b| b.group == 0).collect();
    assert_eq!(boxes.len(), 1, "one box for the group");
    check(&g);
}

#[test]
fn long_edges_pass_between_boxes() {
    // a → d skips two waves full of stages: its path passes through their columns.
    let g = graph_in(
        "FROM busybox AS a\nFROM busybox AS b\nFROM b AS c\nFROM c AS d\nCOPY --from=a / /a\n\
         FROM c AS e\nFROM c AS f\n",
        std::path::Path::new("."),
    );
    assert_eq!(g.nodes[3].wave, 2);
    let l = layout(&g);
    let e = g
        .edges
        .iter()
        .position(|e| (e.from, e.to) == (0, 3))
        .unwrap_or(usize::MAX);
    assert_eq!(l.routes[e].len(), 2, "a pass point in the middle column");
    check(&g);
}

#[test]
fn svg_is_well_formed_and_escaped() {
    let g = generated(60, 7, 2, true);
    let svg = svg::render(&g);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains(" viewBox=\"0 0 "));
    assert!(
        svg.contains("&lt;ok &amp; fine&gt;"),
        "a CHECK's text, escaped"
    );
    assert!(svg.contains("critical path: "));
    // Tags balance, attributes are quoted, no bare `&` or `<` in text.
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg.as_str();
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        for (k, _) in text.match_indices('&') {
            let ent = &text[k..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| ent.starts_with(e)),
                "bare & in {text}"
            );
        }
        let close = rest[open..]
            .find('>')
            .map(|c| open + c)
            .unwrap_or_else(|| panic!("open <"));
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "< inside a tag: {tag}");
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(!name.is_empty(), "tag without a name: {tag}");
        if let Some(n) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(n.trim()), "mismatched </{n}>");
        } else if !tag.ends_with('/') {
            stack.push(name);
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(rest.trim(), "");
}
