// Package provision reads a whole loyalty program — programs, merchants,
// terminals and cards, with opening balances — from one YAML file, checks
// it as a whole, and writes it to the ledger through the store's operator
// API. The admin API's POST /v1/import and the CLI's `import FILE` both use
// it; so do the demo (testdata/demo.yaml) and the tests.
//
// # Use
//
//	f, err := provision.Load("testdata/demo.yaml") // or Parse(data)
//	if err != nil {
//		// an ErrorList: one line per bad key, with its path and line
//	}
//	sum, err := provision.Apply(ctx, store, f)
//	alice, _ := f.Alias("alice") // PAN, expiry, service code, PIN, IMK of a named card
//	tmk := f.TerminalTMK("T0000101") // a terminal's clear TMK, for a simulator
//	pr, _ := f.Product(alice.ProgramID, alice.Product) // kind, when a PIN is asked
//
// # Format (version 1)
//
// The file is one YAML mapping with these keys, all optional; unknown keys
// anywhere are errors. Numbers may be written with or without quotes: every
// value is read from its text, so "0912" stays 0912.
//
//	version: 1                      # the only version
//	programs:
//	  - id: mallcoalition           # 1..32 of [A-Za-z0-9._-]
//	    name: Mall Coalition
//	    currency: "156"             # ISO 4217 numeric; only 156 (CNY)
//	    point_cost_fen: 1           # fen the earning merchant pays per point
//	    redemption_value_fen: 1     # fen of purchase one point pays for
//	    interchange_bp: 50          # basis points, 0..10000
//	    hold_days: 7                # 0..60, 0 = the default (7)
//	    issuer_master_key: "0123…"  # optional IMK of its chip cards, 32 hex (test programs only)
//	    products:                   # optional; magstripe, chip and both are built in
//	      - name: secure            # 1..32 of [A-Za-z0-9._-], not a built-in name
//	        kind: both              # magstripe, chip or both
//	        pin_required: {"310000": "0.00", "000000": "100.00"} # processing code: from what amount
//	    billing:                    # optional: monthly fees to each merchant (docs/settlement.md)
//	      merchant_monthly_fee_fen: 5000   # whole fen, >= 0, per merchant
//	      terminal_monthly_fee_fen: 1000   # whole fen, >= 0, per enabled terminal
//	    loyalty:                    # optional: the loyalty rules (docs/loyalty.md)
//	      earn_rate_bp: 10000       # 10000 = 1 point a yuan
//	      tier_window_months: 3
//	      tiers: [{name: Pearl, threshold: "0.00", multiplier_bp: 10000}]
//	      campaigns: [{id: dec, kind: period, multiplier_bp: 20000, from: 2026-12-01, to: 2026-12-31}]
//	      lots: {kind: end_of_month, months: 12}
//	      notice_days: 30
//	merchants:
//	  - mid: MALL00000000001        # exactly 15 of [A-Za-z0-9._-]
//	    program_id: mallcoalition   # in this file or in the store
//	    name: Grand Mall
//	    home: true                  # issues cards (default false)
//	    mdr_bp: 60                  # merchant discount rate, basis points
//	    load_commission_bp: 30      # commission on loads, basis points
//	terminals:
//	  - tid: T0000101               # exactly 8 of [A-Za-z0-9._-]
//	    mid: MALL00000000001        # in this file or in the store
//	    enabled: true               # default true
//	    tmk: "0123…"                # optional terminal master key, 32 hex (test programs only)
//	cards:
//	  - name: alice                 # optional alias, unique in the file; never stored
//	    pan: "6210000000000011"     # 12..19 digits, Luhn-valid
//	    program_id: mallcoalition   # optional when home_mid is in this file
//	    home_mid: MALL00000000001   # a home merchant of the card's program
//	    product: chip               # magstripe, chip or both
//	    state: active               # issued, active, frozen, lost, stolen, closed
//	    expiry: "2912"              # YYMM
//	    service_code: "201"         # optional, 3 digits (101 magstripe, 201 chip)
//	    psn: "01"                   # optional chip sequence number, 2 digits
//	    uid: "04A1B2C3D4E5F6"       # optional contactless member UID, 4/7/10 bytes hex, unique
//	    blacklisted: false
//	    member:
//	      name: Alice Wang
//	      phone: "13800000001"
//	      birthday: "05-17"         # MM-DD or YYYY-MM-DD
//	      registered: true          # anonymous when false (the default)
//	    limits:                     # all optional; amounts are yuan strings
//	      max_balance: "5000.00"    # default 5000.00 registered, 1000.00 anonymous
//	      per_txn: "1000.00"
//	      daily: "2000.00"
//	      daily_count: 20
//	    opening_balance: "500.00"   # yuan, exact (no floats), at most max balance
//	    opening_points: 200
//	    pin: "1234"                 # optional, 4..12 digits (test programs only)
//
// A clear key or PIN in a file is for test programs: a production program
// loads its TMKs and IMKs as custodians' components through the admin
// API. Apply seals keys under the host master key and keeps only a PIN's
// one-way verification data; the clear values stay in the File (Keys,
// Alias.PIN, Alias.IMK) for simulators and tests.
//
// Money is read with ledger.ParseAmount: a plain decimal with at most two
// decimals, never a float. Rates are integer basis points.
//
// # Invariants
//
//   - Nothing is written unless the whole file is valid: Parse checks every
//     record, duplicates (ids, MIDs, TIDs, PANs, names) and references
//     inside the file; Apply then checks references to records that are
//     not in the file against the store, and that no merchant or card
//     moves to another program, before its first write.
//   - Every error names the key path and line, e.g.
//     `cards[3].expiry: "2913": month 13 not valid (line 41)`, and never
//     shows a clear PAN (cardnum.Mask; any run of 12+ digits in a message
//     is masked as a last line of defence).
//   - Apply is idempotent: records are created or replaced; existing cards
//     keep their state and blacklist flag (operator actions); a card's
//     opening balance and points are credited only while the card has no
//     journal history and zero balances, so a second import of the same
//     file credits nothing. See Apply for the exact rule.
//   - Writes follow dependency order: programs, merchants, terminals and
//     cards, opening values. Each is one durable ledger change; terminals
//     and cards are written by a bounded pool (applyWorkers) so that the
//     ledger's group commit can share syncs.
//   - A program's loyalty rules are checked by loyalty.Rules.Validate
//     (errors under programs[i].loyalty., in the file's key names) and
//     their campaign merchants against the file and the store; the store
//     versions them (a re-import of the same rules makes no version;
//     Summary.RulesVersions counts those made).
//   - Sizes are bounded: MaxFileBytes, and per-file counts of each record.
//
// # Strict YAML for other files
//
// DecodeStrict(data, &v) is the same strict decoding for any YAML-tagged
// struct: unknown keys, keys given twice, wrong kinds of value and syntax
// errors come back as an ErrorList naming key path and line, e.g.
// `log.levle: unknown key; want one of format, level (line 3)`. The host's
// configuration file (cmd/cardcenter) uses it, so that there is one way to
// report a typo.
//
// docs/provisioning.md describes the format for operators.
package provision
