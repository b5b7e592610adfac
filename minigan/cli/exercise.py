"""`minigan exercise list|check NAME [--file PATH] [--hint [N]] [--solution]`.

`check` runs an exercise's check on the learner's file and prints the report; the exit
status is 0 when it passes and 1 otherwise. `--hint` adds the next graded hint (or hint N),
`--solution` the formula. The checks themselves live in minigan.exercises.
"""
from .args import CLIError


def add_arguments(parser):
    parser.add_argument("action", choices=["check", "list"])
    parser.add_argument("name", nargs="?", help="the exercise, e.g. sigmoid")
    parser.add_argument("--file", help="the file to check (default lessons/exercises/NAME.py)")
    parser.add_argument("--hint", nargs="?", type=int, const=0, metavar="N",
                        help="show the next hint (hint 1, then 2, ...), or hint N")
    parser.add_argument("--solution", action="store_true", help="show the formula")


def cmd_exercise(args):
    """Returns the exit status."""
    from minigan import exercises
    if args.action == "list":
        for name, exercise in exercises.EXERCISES.items():
            print(f"{name:20s} {exercise.title:50s} {exercises.exercise_path(name)}")
        print("check one with:  minigan exercise check NAME   (or --file PATH; --hint for a hint)")
        return 0
    if args.name not in exercises.EXERCISES:
        raise CLIError(f"which exercise? minigan exercise check NAME, got {args.name!r}; "
                       "one of: " + ", ".join(exercises.EXERCISES))
    report = exercises.check(args.name, args.file)
    print(report)
    if args.hint is not None:
        try:
            number, total, text = exercises.hint(args.name, args.hint or None)
        except ValueError as error:
            raise CLIError(str(error)) from None
        more = ("--hint for the next" if number < total
                else "that was the last hint; --solution shows the answer")
        print(f"\nhint {number} of {total}: {text}\n({more})")
    if args.solution:
        print(f"\nsolution of {args.name}:\n{exercises.solution(args.name)}")
    return 0 if report else 1
