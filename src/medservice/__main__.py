from medservice.config.cli import main

main()
