"""The GraphQL layer: types generated from the model, thin resolvers over the engine."""
