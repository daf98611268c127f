"""Tools for analysts: run a GraphQL document from the shell and take the answer away."""
