from fullcycle.cli import main

main()
