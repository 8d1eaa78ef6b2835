<?xml version="1.0" encoding="utf-8"?>
<!-- Shows newsarchive's Atom feed of changes as a page when a browser opens it. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom" exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="utf-8" indent="yes"/>
  <xsl:template match="/atom:feed">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="atom:title"/></title>
        <style>
          body { font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }
          .about { background: #eef3fb; padding: 0.6em 0.9em; border-radius: 4px; }
          .entry { border-top: 1px solid #ddd; padding: 0.6em 0; }
          .entry h2 { font-size: 1.1em; margin: 0.2em 0; }
          .when { color: #666; font-size: 0.9em; }
          .passage { white-space: pre-wrap; }
          del { background: #fbd9d9; color: #7a0c0c; }
          ins { background: #d4f7d4; color: #0b4a0b; text-decoration: none; }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="atom:title"/></h1>
        <p class="about">This is an Atom feed: copy its address
          (<code><xsl:value-of select="atom:link[@rel='self']/@href"/></code>) into a feed reader
          to follow the changes. In a feed reader deleted words read [-like this-] and inserted ones {+like this+}.</p>
        <xsl:for-each select="atom:entry">
          <div class="entry">
            <h2><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h2>
            <div class="when"><xsl:value-of select="translate(substring(atom:updated, 1, 16), 'T', ' ')"/> UTC</div>
            <p class="passage"><xsl:call-template name="marked">
              <xsl:with-param name="text" select="atom:summary"/>
            </xsl:call-template></p>
          </div>
        </xsl:for-each>
        <xsl:if test="not(atom:entry)"><p>No changes yet.</p></xsl:if>
      </body>
    </html>
  </xsl:template>

  <!-- [-deleted-] and {+inserted+} in a summary become <del> and <ins>. -->
  <xsl:template name="marked">
    <xsl:param name="text"/>
    <xsl:variable name="before-del" select="substring-before($text, '[-')"/>
    <xsl:variable name="before-ins" select="substring-before($text, '{+')"/>
    <xsl:choose>
      <xsl:when test="contains($text, '[-') and contains(substring-after($text, '[-'), '-]')
                      and (not(contains($text, '{+')) or string-length($before-del) &lt; string-length($before-ins))">
        <xsl:value-of select="$before-del"/>
        <del><xsl:value-of select="substring-before(substring-after($text, '[-'), '-]')"/></del>
        <xsl:call-template name="marked">
          <xsl:with-param name="text" select="substring-after(substring-after($text, '[-'), '-]')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="contains($text, '{+') and contains(substring-after($text, '{+'), '+}')">
        <xsl:value-of select="$before-ins"/>
        <ins><xsl:value-of select="substring-before(substring-after($text, '{+'), '+}')"/></ins>
        <xsl:call-template name="marked">
          <xsl:with-param name="text" select="substring-after(substring-after($text, '{+'), '+}')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
