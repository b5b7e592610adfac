from minigan.cli import main

raise SystemExit(main())
