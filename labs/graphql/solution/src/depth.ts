import { GraphQLError, Kind, type ASTVisitor, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';

/** The deepest field a request may reach: `{ author { name } }` is depth 2. */
export const MAX_DEPTH = 10;

/**
 * A validation rule: an operation whose fields nest deeper than MAX_DEPTH is refused before anything runs.
 * Fragment spreads and inline fragments count as the fields they contain (an attacker nests through them).
 */
export function depthLimit(max = MAX_DEPTH) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);

    const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      if (!set) return 0;
      let deepest = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) deepest = Math.max(deepest, 1 + depthOf(sel.selectionSet, seen));
        else if (sel.kind === Kind.INLINE_FRAGMENT) deepest = Math.max(deepest, depthOf(sel.selectionSet, seen));
        else {
          const name = sel.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue; // unknown or cyclic fragments are other rules' errors
          deepest = Math.max(deepest, depthOf(frag.selectionSet, new Set(seen).add(name)));
        }
        if (deepest > max) return deepest; // enough to refuse: do not walk the rest of a huge query
      }
      return deepest;
    };

    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (depth > max) {
          context.reportError(new GraphQLError(`Query depth ${depth} exceeds the maximum depth of ${max}.`, { nodes: [node] }));
        }
      },
    };
  };
}
