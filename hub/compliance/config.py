"""Settings of the compliance wing: (NAME, default, what it does); see hub/config.py."""

SETTINGS = (
    (
        "POLICY_PATTERN_BUDGET_MS",
        1000,
        "longest (CPU ms) a regular expression added to the policy pack may take on a generated "
        "hostile draft of the pack's max_chars characters; slower ones, and any that can "
        "backtrack exponentially, are refused when saving, testing and activating a pack "
        "version (0 refuses every added one)",
    ),
    (
        "POLICY_CHECK_BUDGET_MS",
        500,
        "longest (wall-clock ms) one policy check may run; a check stopped by it is held for "
        "review with a finding that says so, so no pattern can hold a web worker longer",
    ),
)
