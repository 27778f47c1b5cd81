//! Runs every seed through its target's checks on stable Rust, without libFuzzer:
//! `cargo test --manifest-path fuzz/Cargo.toml`. A crash file from `make fuzz` reproduces with
//! `FUZZ_REPLAY=fuzz/artifacts/<target>/crash-... cargo test --manifest-path fuzz/Cargo.toml`.

use llm_warden_fuzz::TARGETS;
use std::path::{Path, PathBuf};

fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn seeds_pass_their_checks() {
    for (name, run) in TARGETS {
        let seeds = files(&dir().join("seeds").join(name));
        assert!(!seeds.is_empty(), "no seeds for {name}");
        for seed in seeds {
            eprintln!("{}", seed.display());
            run(&std::fs::read(&seed).unwrap());
        }
    }
}

#[test]
fn replay_one_file() {
    // FUZZ_REPLAY=<path under fuzz/artifacts/<target>/ or fuzz/seeds/<target>/>
    let Some(path) = std::env::var_os("FUZZ_REPLAY").map(PathBuf::from) else {
        return;
    };
    let target = path.parent().and_then(Path::file_name).unwrap();
    let (_, run) = TARGETS
        .iter()
        .find(|(name, _)| target == *name)
        .expect("the file's directory names no target");
    run(&std::fs::read(&path).unwrap());
}

#[test]
fn every_binary_is_a_registered_target() {
    let mut bins: Vec<String> = files(&dir().join("fuzz_targets"))
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    bins.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(bins, names);
    let manifest = std::fs::read_to_string(dir().join("Cargo.toml")).unwrap();
    for name in names {
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "no [[bin]] for {name} in Cargo.toml"
        );
    }
}
