"""AWS CDK infrastructure: one construct per capability and the stack composing them."""
