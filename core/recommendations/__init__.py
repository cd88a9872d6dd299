"""The end of the cycle: recommendations of the working groups, the bundle handed to the board,
the board's decisions, the projects they lead to, and the public record of every edition."""
