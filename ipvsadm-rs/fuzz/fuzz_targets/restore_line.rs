//! Any bytes as a line of `ipvsadm -R` input: the tokenizer and the whole
//! option parsing/validation must classify it (run it, or stop with an
//! exit status) without panicking. No name lookups, no kernel.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (words, status) = ipvs::cli::restore::check_restore_line(data);
    if let (Some(words), None) = (&words, status) {
        // A line that validates must have a command first.
        assert!(!words.is_empty());
    }
    // The whole-input splitter must agree with itself on any input.
    let _ = ipvs::cli::restore::split_input(data);
});
