from esms_calls_cli.app import main

raise SystemExit(main())
