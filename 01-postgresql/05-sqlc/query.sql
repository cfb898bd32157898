-- name: CreateCategory :batchexec
INSERT INTO categories (id, parent_id, name) VALUES ($1, $2, $3);

-- name: CreateProduct :batchone
INSERT INTO products (category_id, name, price_cents) VALUES ($1, $2, $3)
RETURNING id;

-- name: CopySales :copyfrom
INSERT INTO sales (product_id, sold_on, quantity, amount_cents) VALUES ($1, $2, $3, $4);

-- name: CategoryTree :many
-- The subtree under a category, depth first, with the path of names.
WITH RECURSIVE tree AS (
    SELECT c.id, c.parent_id, c.name, 0 AS depth, c.name::text AS path
    FROM categories c
    WHERE c.id = @root_id
    UNION ALL
    SELECT c.id, c.parent_id, c.name, t.depth + 1, t.path || ' / ' || c.name
    FROM categories c
    JOIN tree t ON c.parent_id = t.id
)
SELECT id, name, depth::int AS depth, path::text AS path FROM tree ORDER BY path;

-- name: TopProducts :many
-- Products ranked by revenue within their category; ties share a rank.
SELECT category, product, revenue_cents::bigint AS revenue_cents, rank::int AS rank
FROM (
    SELECT c.name AS category, p.name AS product,
           sum(s.amount_cents) AS revenue_cents,
           rank() OVER (PARTITION BY c.id ORDER BY sum(s.amount_cents) DESC) AS rank
    FROM sales s
    JOIN products p ON p.id = s.product_id
    JOIN categories c ON c.id = p.category_id
    GROUP BY c.id, c.name, p.id, p.name
) ranked
WHERE rank <= @max_rank::int
ORDER BY category, rank, product;

-- name: DailyRevenue :many
-- Revenue per day, the running total, and the change since the day before.
SELECT sold_on,
       sum(amount_cents)::bigint AS revenue_cents,
       (sum(sum(amount_cents)) OVER (ORDER BY sold_on))::bigint AS running_cents,
       (sum(amount_cents) - lag(sum(amount_cents), 1, 0::numeric) OVER (ORDER BY sold_on))::bigint AS change_cents
FROM sales
GROUP BY sold_on
ORDER BY sold_on;

-- name: SearchProducts :many
-- Every filter is optional (NULL = no filter). The sort key is one of a
-- fixed set the Go code checks; each CASE sorts only when it is chosen.
SELECT id, name, price_cents
FROM products
WHERE (sqlc.narg('category_id')::bigint IS NULL OR category_id = sqlc.narg('category_id'))
  AND (sqlc.narg('min_price')::bigint IS NULL OR price_cents >= sqlc.narg('min_price'))
  AND (sqlc.narg('name_prefix')::text IS NULL OR name LIKE sqlc.narg('name_prefix') || '%')
ORDER BY
  CASE WHEN @sort_key::text = 'name' THEN name END,
  CASE WHEN @sort_key::text = 'price' THEN price_cents END,
  CASE WHEN @sort_key::text = '-price' THEN price_cents END DESC,
  id;

-- name: ProductsByIDs :many
SELECT id, name, price_cents FROM products WHERE id = ANY(@ids::bigint[]) ORDER BY id;

-- name: ProductsPage :many
-- Keyset pagination: the row after (name, id) of the last row seen, so a
-- page costs the same at any depth and rows do not shift between pages.
SELECT id, name, price_cents
FROM products
WHERE (name, id) > (@after_name::text, @after_id::bigint)
ORDER BY name, id
LIMIT @page_size::int;
