/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: C2SP signed notes and checkpoints (cs_note_parse, cs_note_verify,
 * cs_checkpoint_parse) and verifier keys (cs_note_vkey_parse) on hostile bytes.
 * Corpus: corpus/note/.
 *
 * Invariants: every view lies inside the input; the text ends with LF and is followed by
 * the blank line; with a key that signed nothing, verification never succeeds; a parsed
 * checkpoint has a non-empty origin inside the text.
 */
#include <string.h>

#include "fuzz_target.h"
#include "tlog/note.h"

/* An Ed25519 verifier key of our own test (name "custos.test/fuzz"): signed nothing here. */
static const char fuzz_vkey[] = "custos.test/fuzz+60069ed9+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cs_note note; /* large: keep it off the stack */
    struct cs_cur in = cs_cur_of(data, size);

    struct cs_note_vkey k;
    cs_res r = cs_note_vkey_parse(in, &k);
    FUZZ_CHECK(cs_ok(r) || fuzz_is_input_verdict(r.code));

    r = cs_note_parse(data, size, &note);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        return 0;
    }
    FUZZ_CHECK(fuzz_is_inside(note.text, data, size));
    FUZZ_CHECK(note.text.left > 0 && note.text.p[note.text.left - 1] == '\n');
    FUZZ_CHECK(note.text.left < size && note.text.p[note.text.left] == '\n');
    FUZZ_CHECK(note.n_sigs >= 1 && note.n_sigs <= CS_NOTE_SIGS_MAX);
    for (size_t i = 0; i < note.n_sigs; i++) {
        FUZZ_CHECK(fuzz_is_inside(note.sigs[i].name, data, size));
        FUZZ_CHECK(fuzz_is_inside(note.sigs[i].b64, data, size));
        FUZZ_CHECK(note.sigs[i].name.left > 0);
    }

    struct cs_note_vkey keys[2];
    size_t n_keys = 1;
    FUZZ_CHECK(cs_ok(cs_note_vkey_parse(
        cs_cur_of((const uint8_t *)fuzz_vkey, sizeof fuzz_vkey - 1), &keys[0])));
    if (cs_ok(cs_note_vkey_parse(in, &keys[n_keys]))) {
        n_keys++; /* the input as a key for itself: parsing and matching still hold */
    }
    bool ok[2] = { false, false };
    uint64_t times[2] = { 0, 0 };
    r = cs_note_verify(&note, keys, n_keys, ok, times);
    FUZZ_CHECK(cs_ok(r) || fuzz_is_input_verdict(r.code));
    if (n_keys == 1 && cs_ok(r)) {
        FUZZ_CHECK(false); /* nobody holds the fuzz key's private half */
    }

    struct cs_checkpoint cp;
    r = cs_checkpoint_parse(note.text, &cp);
    if (cs_ok(r)) {
        FUZZ_CHECK(cp.origin.left > 0 && fuzz_is_inside(cp.origin, data, size));
    } else {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
    }
    return 0;
}
